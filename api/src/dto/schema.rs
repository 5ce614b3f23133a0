//! The bounds of the request bodies, stated once for the OpenAPI document and
//! for validation: a pattern here is what [`super`]'s checks accept, so a
//! client that follows the document is never refused for the shape of a field.

use utoipa::openapi::schema::{ArrayBuilder, Object, ObjectBuilder, SchemaType, Type};
use utoipa::openapi::Array;

/// A name (tenant, pool, policy): 1 to 63 of `[a-z0-9-_.]`, starting with a
/// letter or digit. Checked by [`super::check_name`].
pub const NAME: &str = "^[a-z0-9][a-z0-9._-]{0,62}$";
/// An email address: visible ASCII with an `@` that is neither first nor last,
/// at most [`super::MAX_EMAIL`] bytes. Checked by [`super::check_email`].
pub const EMAIL: &str = "^[!-~]+@[!-~]+$";
/// A reason: up to [`super::tenancy::MAX_REASON`] characters, no NUL, not blank.
pub const REASON: &str = "^[^\\x00]*[^\\s\\x00][^\\x00]*$";
/// A display name: 1 to 128 characters, no control characters.
pub const DISPLAY_NAME: &str = "^[^\\x00-\\x1f\\x7f-\\x9f]{1,128}$";
/// A duration: a number and a unit (`90s`, `5m`, `1h`, `250ms`).
pub const DURATION: &str = "^[0-9]{1,12}(ms|s|m|h)$";

/// A string field, or an optional one (`null` is the same as absent).
fn text(pattern: &str, max: Option<usize>, optional: bool) -> Object {
    ObjectBuilder::new().schema_type(of(Type::String, optional)).pattern(Some(pattern)).max_length(max).build()
}

fn of(t: Type, optional: bool) -> SchemaType {
    if optional {
        SchemaType::from_iter([t, Type::Null])
    } else {
        SchemaType::Type(t)
    }
}

pub fn name() -> Object {
    text(NAME, None, false)
}

pub fn name_or_null() -> Object {
    text(NAME, None, true)
}

pub fn email() -> Object {
    text(EMAIL, Some(super::MAX_EMAIL), false)
}

pub fn email_or_null() -> Object {
    text(EMAIL, Some(super::MAX_EMAIL), true)
}

pub fn reason() -> Object {
    text(REASON, Some(super::tenancy::MAX_REASON), false)
}

pub fn reason_or_null() -> Object {
    text(REASON, Some(super::tenancy::MAX_REASON), true)
}

pub fn display_name_or_null() -> Object {
    text(DISPLAY_NAME, None, true)
}

pub fn duration_or_null() -> Object {
    text(DURATION, None, true)
}

/// `command`: the program (not empty), then its arguments; each at most
/// [`super::MAX_ARG_BYTES`] characters without NUL, at most [`super::MAX_ARGS`] in all.
pub fn command() -> Array {
    let arg = |min: usize| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(min))
            .max_length(Some(super::MAX_ARG_BYTES))
            .pattern(Some("^[^\\x00]*$"))
            .build()
    };
    ArrayBuilder::new()
        .prefix_items([arg(1)])
        .items(arg(0))
        .min_items(Some(1))
        .max_items(Some(super::MAX_ARGS))
        .description(Some("The program, then its arguments"))
        .build()
}

/// Wait targets per priority: keys are priorities (-1000 to 1000, written in
/// decimal), values 1 ms to 7 days, at most 64 entries. Checked by
/// [`super::sla::SlaTargetsBody::validate`].
pub fn priority_targets() -> Object {
    priority_map(hodei_domain::sla::MAX_SLA_TARGETS)
}

/// What the priorities of two scopes (the cluster's and a tenant's) resolve to.
pub fn effective_priority_targets() -> Object {
    priority_map(2 * hodei_domain::sla::MAX_SLA_TARGETS)
}

fn priority_map(max_entries: usize) -> Object {
    let key = ObjectBuilder::new().schema_type(Type::String).pattern(Some(super::sla::PRIORITY_KEY));
    let value = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .maximum(Some(hodei_domain::sla::MAX_SLA_WAIT_MS));
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property_names(Some(key))
        .additional_properties(Some(value))
        .max_properties(Some(max_entries))
        .build()
}

/// `env` and `labels` (optional: `null` is the same as absent): at most [`super::MAX_MAP_ENTRIES`] entries; keys 1 to
/// [`super::MAX_KEY_BYTES`] characters without `=` or NUL, values at most
/// [`super::MAX_VALUE_BYTES`] characters without NUL. Checked by [`super::check_map`].
pub fn string_map_or_null() -> Object {
    let key = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(super::MAX_KEY_BYTES))
        .pattern(Some("^[^=\\x00]*$"));
    let value = ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(super::MAX_VALUE_BYTES))
        .pattern(Some("^[^\\x00]*$"));
    ObjectBuilder::new()
        .schema_type(of(Type::Object, true))
        .property_names(Some(key))
        .additional_properties(Some(value))
        .max_properties(Some(super::MAX_MAP_ENTRIES))
        .build()
}
