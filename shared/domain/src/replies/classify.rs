//! Reply, auto-reply or bounce: from the headers machines set (RFC 3834 `Auto-Submitted`, the
//! de-facto `X-Autoreply`/`X-Autorespond`, `Precedence`), the report a bounce is (RFC 3462
//! `multipart/report; report-type=delivery-status`), the senders bounces come from, and the
//! subjects out-of-office notes carry in English, German, French and Spanish.

use super::ReplyKind;

/// Header names are compared lowercased; `headers` is every (name, value) of the message.
pub fn classify(
    headers: &[(String, String)],
    subject: &str,
    from_email: Option<&str>,
) -> ReplyKind {
    let value = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_ascii_lowercase())
    };
    let content_type = value("content-type").unwrap_or_default();
    let from_machine = from_email
        .and_then(|from| from.split_once('@'))
        .is_some_and(|(local, _)| {
            let local = local.to_ascii_lowercase();
            local == "mailer-daemon" || local == "postmaster"
        });
    let is_report =
        content_type.starts_with("multipart/report") && content_type.contains("delivery-status");
    if is_report || value("x-failed-recipients").is_some() || from_machine {
        return ReplyKind::Bounce;
    }
    let auto_submitted = value("auto-submitted").is_some_and(|v| !v.starts_with("no"));
    let autoresponder = ["x-autoreply", "x-autorespond", "x-autoresponder"]
        .iter()
        .any(|name| value(name).is_some());
    let precedence =
        value("precedence").is_some_and(|v| matches!(v.as_str(), "auto_reply" | "bulk" | "junk"));
    if auto_submitted || autoresponder || precedence || is_auto_subject(subject) {
        return ReplyKind::AutoReply;
    }
    ReplyKind::Reply
}

/// Subjects of out-of-office notes and autoresponders (lowercased, matched anywhere).
const AUTO_SUBJECTS: &[&str] = &[
    // English
    "out of office",
    "out of the office",
    "automatic reply",
    "auto-reply",
    "autoreply",
    "auto reply",
    "auto response",
    "autoresponse",
    "away from the office",
    // German
    "abwesenheitsnotiz",
    "automatische antwort",
    "abwesenheit",
    "nicht im büro",
    "außer haus",
    // French
    "réponse automatique",
    "reponse automatique",
    "absence du bureau",
    "absent du bureau",
    "message d'absence",
    // Spanish
    "respuesta automática",
    "respuesta automatica",
    "fuera de la oficina",
    "fuera de oficina",
    "ausencia",
];

pub fn is_auto_subject(subject: &str) -> bool {
    let lower = subject.to_lowercase();
    AUTO_SUBJECTS.iter().any(|s| lower.contains(s))
}
