//! Blog publishing: the public sees a post once it is published, public and due
//! (`published_at` not in the future); `published_at` is set by the server on the first
//! publish; `seo_settings` are checked (a title of at most 70 characters, a description of at
//! most 160); and admins publish anyone's post (`POST /v1/blog_posts/{id}/publish`), authors
//! their own.

use super::*;

const SEO_TITLE_CHARS: usize = 70;
const SEO_DESCRIPTION_CHARS: usize = 160;

impl Access {
    /// Whether the public may read a post the `status = published` rule admits: it is public
    /// (`visibility` public or unset) and its publication time has come.
    pub(super) fn released(&self, table: &Table, row: &Row) -> bool {
        if table.name != "blog_posts" {
            return true;
        }
        let public = crate::rows::field(row, "visibility")
            .as_str()
            .is_none_or(|v| v == "public");
        let due = crate::rows::field(row, "published_at")
            .as_str()
            .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
            .is_none_or(|at| at.with_timezone(&chrono::Utc) <= self.clock.now());
        public && due
    }

    /// `seo_settings` as search engines show them.
    pub(super) fn check_seo(table: &Table, row: &Row) -> Result<(), AccessError> {
        if table.name != "blog_posts" {
            return Ok(());
        }
        let seo = crate::rows::field(row, "seo_settings");
        if seo.is_null() {
            return Ok(());
        }
        let too_long = |key: &str, limit: usize| {
            seo[key]
                .as_str()
                .is_some_and(|text| text.chars().count() > limit)
        };
        let problem = if !seo.is_object() {
            Some("must be an object".to_owned())
        } else if too_long("title", SEO_TITLE_CHARS) {
            Some(format!(
                "title must be at most {SEO_TITLE_CHARS} characters"
            ))
        } else if too_long("description", SEO_DESCRIPTION_CHARS) {
            Some(format!(
                "description must be at most {SEO_DESCRIPTION_CHARS} characters"
            ))
        } else {
            None
        };
        match problem {
            Some(reason) => Err(RowError::Invalid {
                column: "seo_settings".into(),
                reason,
            }
            .into()),
            None => Ok(()),
        }
    }

    /// The first publish stamps `published_at` (a later re-publish keeps the original date;
    /// an author may set a future date to schedule the post).
    pub(super) fn stamp_published(&self, table: &Table, current: Option<&Row>, patch: &mut Row) {
        if table.name != "blog_posts" || patch.get("status") != Some(&json!("published")) {
            return;
        }
        let already = current
            .map(|row| !crate::rows::field(row, "published_at").is_null())
            .unwrap_or(false);
        if !already && patch.get("published_at").is_none_or(Value::is_null) {
            patch.insert(
                "published_at".into(),
                json!(timestamp_text(self.clock.now())),
            );
        }
    }

    /// `GET /v1/blog/{slug}`: a post by its slug, if this actor may read it (the public: a
    /// published, public post whose time has come).
    pub async fn post_by_slug(&self, actor: &Actor, slug: &str) -> Result<Row, AccessError> {
        let table = &schema::BLOG_POSTS;
        let unique = table
            .uniques
            .iter()
            .find(|u| u.name == "blog_posts_slug_key")
            .ok_or_else(|| RowError::Invariant("blog_posts declares no slug key".into()))?;
        let mut probe = Row::new();
        probe.insert("slug".into(), json!(slug));
        match self.rows.find_unique(table, unique, &probe).await? {
            Some(post) if self.allows(actor, table, Op::Select, &post).await? => {
                Ok(Self::redact(table, post))
            }
            _ => Err(not_found()),
        }
    }

    /// `POST /v1/blog_posts/{id}/publish`: the author, or an admin for anyone's post.
    pub async fn publish_post(&self, actor: &Actor, id: &str) -> Result<Row, AccessError> {
        let mut patch = Row::new();
        patch.insert("status".into(), json!("published"));
        if !actor.is_admin {
            return self.update(actor, "blog_posts", id, patch).await;
        }
        let table = &schema::BLOG_POSTS;
        let current = self
            .rows
            .get(table, None, id)
            .await?
            .ok_or_else(not_found)?;
        let status = crate::rows::field(&current, "status")
            .as_str()
            .unwrap_or_default();
        if !matches!(status, "draft" | "pending_review" | "published") {
            return Err(AccessError::Forbidden(format!(
                "a post that is {status} cannot be published"
            )));
        }
        self.stamp_published(table, Some(&current), &mut patch);
        let audit = self.audit_ops(
            actor,
            None,
            "blog.published",
            json!({ "table": "blog_posts", "row_id": id, "author_id": crate::rows::field(&current, "author_id") }),
        )?;
        let updated = self
            .rows
            .update_keeping_internal_with(table, None, id, patch, audit)
            .await?;
        Ok(Self::redact(table, updated))
    }

    /// A guest contributor's figures follow their posts: `posts_submitted` when a post of
    /// theirs goes to review, `posts_published` on its first publish — in the post's
    /// transaction. The contributor row lives in its inviter's partition: the author's.
    pub(super) async fn contributor_counts(
        &self,
        actor: &Actor,
        table: &Table,
        current: Option<&Row>,
        preview: &Row,
    ) -> Result<Vec<Extra>, AccessError> {
        if table.name != "blog_posts" {
            return Ok(Vec::new());
        }
        let Some(contributor) = crate::rows::field(preview, "contributor_id").as_str() else {
            return Ok(Vec::new());
        };
        let status = |row: Option<&Row>| {
            row.and_then(|r| crate::rows::field(r, "status").as_str().map(str::to_owned))
        };
        let (before, after) = (status(current), status(Some(preview)));
        let moved = |to: &str| after.as_deref() == Some(to) && before.as_deref() != Some(to);
        let first_publish = moved("published")
            && current.is_none_or(|r| crate::rows::field(r, "published_at").is_null());
        let column = if moved("pending_review") {
            "posts_submitted"
        } else if first_publish {
            "posts_published"
        } else {
            return Ok(Vec::new());
        };
        let partitions = [
            actor.user_id().map(|u| u.to_string()),
            crate::rows::field(preview, "author_id")
                .as_str()
                .map(str::to_owned),
        ];
        let contributors = &schema::GUEST_CONTRIBUTORS;
        for partition in partitions.into_iter().flatten() {
            if self
                .rows
                .get(contributors, Some(&partition), contributor)
                .await?
                .is_none()
            {
                continue;
            }
            let key = layout::row_key(contributors, Some(&partition), contributor);
            return Ok(vec![Extra {
                op: scaliyo_store::WriteOp::Update {
                    key,
                    update: scaliyo_store::Update::new().add(column, 1).add("_v", 1),
                    condition: Some(scaliyo_store::Condition::item_exists()),
                },
                on_failure: RowError::Concurrent,
            }]);
        }
        Ok(Vec::new())
    }
}
