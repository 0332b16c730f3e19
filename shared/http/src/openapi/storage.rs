//! The buckets of seed section 5: presigned uploads and downloads under the caller's own
//! prefix, listing and deleting the caller's objects.

use serde_json::{Map, Value, json};

use super::{error_responses, json_response};

pub(super) fn storage_paths(paths: &mut Map<String, Value>) {
    let buckets: Vec<&str> = scaliyo_app::storage::BUCKETS
        .iter()
        .map(|b| b.name)
        .collect();
    let bucket = json!({ "name": "bucket", "in": "path", "required": true, "schema": { "type": "string", "enum": buckets } });
    let key = json!({ "name": "key", "in": "query", "required": true, "schema": { "type": "string" }, "description": "the object's key, under the caller's prefix" });
    let text = json!({ "type": "string" });
    let nullable = json!({ "type": ["string", "null"] });
    let mut upload = error_responses(&["400", "401", "403", "404", "413", "415", "503"]);
    upload.insert(
        "201".into(),
        json_response(
            "a presigned upload: PUT the bytes to upload_url with exactly these headers before expires_at (the bytes are checked against content_type after the upload)",
            json!({ "type": "object", "properties": {
                "bucket": text, "key": text, "method": text, "upload_url": text,
                "headers": { "type": "object", "additionalProperties": { "type": "string" } },
                "expires_at": text, "public_url": nullable
            }, "required": ["bucket", "key", "method", "upload_url", "headers", "expires_at"] }),
        ),
    );
    paths.insert(
        "/v1/storage/{bucket}/uploads".into(),
        json!({ "post": {
            "operationId": "storage_upload",
            "tags": ["storage"],
            "parameters": [bucket.clone()],
            "requestBody": { "required": true, "content": { "application/json": { "schema": {
                "type": "object",
                "properties": {
                    "file_name": { "type": "string", "minLength": 1 },
                    "content_type": { "type": "string", "minLength": 1 },
                    "size": { "type": "integer", "minimum": 0 }
                },
                "required": ["file_name", "content_type", "size"],
                "additionalProperties": false
            } } } },
            "responses": upload
        } }),
    );
    let mut download = error_responses(&["400", "401", "403", "404", "503"]);
    download.insert(
        "200".into(),
        json_response(
            "a short-lived URL of one of the caller's objects",
            json!({ "type": "object", "properties": { "url": text, "expires_at": text }, "required": ["url", "expires_at"] }),
        ),
    );
    paths.insert(
        "/v1/storage/{bucket}/download".into(),
        json!({ "get": { "operationId": "storage_download", "tags": ["storage"], "parameters": [bucket.clone(), key.clone()], "responses": download } }),
    );
    let mut listed = error_responses(&["401", "403", "404", "503"]);
    listed.insert(
        "200".into(),
        json_response(
            "the caller's objects in the bucket",
            json!({ "type": "object", "properties": { "data": { "type": "array", "items": {
                "type": "object",
                "properties": {
                    "key": text, "size": { "type": "integer" }, "content_type": nullable,
                    "last_modified": nullable, "public_url": nullable
                },
                "required": ["key", "size"]
            } } }, "required": ["data"] }),
        ),
    );
    let mut deleted = error_responses(&["400", "401", "403", "404", "503"]);
    deleted.insert(
        "204".into(),
        json!({ "description": "the object is deleted" }),
    );
    paths.insert(
        "/v1/storage/{bucket}/objects".into(),
        json!({
            "get": { "operationId": "storage_list", "tags": ["storage"], "parameters": [bucket.clone()], "responses": listed },
            "delete": { "operationId": "storage_delete", "tags": ["storage"], "parameters": [bucket, key], "responses": deleted }
        }),
    );
}
