//! JSON hosts, read with jsonc-parser's syntax tree (every string keeps its span): IAM API
//! objects (`statementQuery`, `boundaryQuery`, alone, in arrays or in an export) and
//! Terraform's JSON syntax (`.tf.json`), whose strings are Terraform templates.

use jsonc_parser::ast::{ObjectProp, StringLit, Value};
use jsonc_parser::{CollectOptions, ParseOptions, parse_to_ast};

use super::decode;
use super::format::TextKind;
use super::hcl;
use super::reader::{Extract, Found, Sources, host_error};
use super::traced::{FileId, Form, Traced};

fn parse(text: &str) -> Result<Option<Value<'_>>, (std::ops::Range<usize>, String)> {
    let strict = ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    };
    parse_to_ast(text, &CollectOptions::default(), &strict)
        .map(|result| result.value)
        .map_err(|e| (e.range().start..e.range().end, e.kind().to_string()))
}

/// The text of a JSON string, positions kept through its escapes.
fn traced(host: &str, file: FileId, string: &StringLit<'_>, form: Form) -> Traced {
    let span = string.range.start..string.range.end;
    decode::checked(decode::json_string(host, span.clone(), file, form), &string.value, file, span, form)
}

fn property<'a, 'b>(props: &'b [ObjectProp<'a>], name: &str) -> Option<&'b Value<'a>> {
    props.iter().find(|p| p.name.as_str() == name).map(|p| &p.value)
}

fn string_of<'a, 'b>(props: &'b [ObjectProp<'a>], name: &str) -> Option<&'b StringLit<'a>> {
    property(props, name).and_then(Value::as_string_lit)
}

/// Reads IAM API JSON: every object with a `statementQuery` or a `boundaryQuery`.
pub(super) fn read_iam(host: &str, file: FileId) -> Extract {
    let mut extract = Extract::default();
    let value = match parse(host) {
        Ok(Some(value)) => value,
        Ok(None) => return extract,
        Err((span, message)) => {
            if host.contains("\"statementQuery\"") || host.contains("\"boundaryQuery\"") {
                extract.host = true;
                extract.findings.push((file, host_error("JSON", span, &message)));
            }
            return extract;
        }
    };
    let mut stack = vec![&value];
    while let Some(value) = stack.pop() {
        match value {
            Value::Array(array) => stack.extend(array.elements.iter().rev()),
            Value::Object(object) => {
                let props = &object.properties;
                for (field, kind, what) in
                    [("statementQuery", TextKind::Policy, "policy"), ("boundaryQuery", TextKind::Boundary, "boundary")]
                {
                    if let Some(string) = string_of(props, field) {
                        let name = string_of(props, "name").map(|s| s.value.to_string());
                        let resource = match (string_of(props, "uuid"), &name) {
                            (Some(uuid), _) => format!("{what}[uuid={}]", uuid.value),
                            (None, Some(name)) => format!("{what}[name={name}]"),
                            (None, None) => what.to_string(),
                        };
                        let text = traced(host, file, string, Form::Json);
                        extract.found.push(Found::new(kind, Some(resource), name, text, None));
                        extract.host = true;
                    }
                }
                stack.extend(props.iter().rev().map(|p| &p.value));
            }
            _ => {}
        }
    }
    extract
}

/// Reads Terraform's JSON syntax: `{"resource": {"dynatrace_iam_policy": {"x": {…}}}}`.
pub(super) fn read_terraform(sources: &mut Sources, file: FileId) -> Extract {
    let host = sources.text(file);
    let mut extract = Extract { host: true, ..Extract::default() };
    let value = match parse(&host) {
        Ok(Some(value)) => value,
        Ok(None) => return extract,
        Err((span, message)) => {
            extract.findings.push((file, host_error("JSON", span, &message)));
            return extract;
        }
    };
    for resources in objects(&value).filter_map(|o| property(o, "resource")) {
        for (kind, field, text_kind) in hcl::HOSTED_TEXTS {
            for labelled in objects(resources).filter_map(|o| property(o, kind)) {
                for props in objects(labelled) {
                    for prop in props {
                        for body in objects(&prop.value) {
                            let Some(string) = string_of(body, field) else { continue };
                            let json = traced(&host, file, string, Form::TerraformJson);
                            let (text, findings) = hcl::template_over(&json, &mut |_| None);
                            extract.findings.extend(findings);
                            let resource = format!("{kind}.{}", prop.name.as_str());
                            let name = string_of(body, "name").map(|s| s.value.to_string());
                            extract.found.push(Found::new(text_kind, Some(resource), name, text, None));
                        }
                    }
                }
            }
        }
    }
    extract
}

/// The objects of a value: itself, or the objects of an array (Terraform JSON allows both).
fn objects<'a, 'b>(value: &'b Value<'a>) -> impl Iterator<Item = &'b [ObjectProp<'a>]> {
    let items: Vec<&'b [ObjectProp<'a>]> = match value {
        Value::Object(object) => vec![&object.properties[..]],
        Value::Array(array) => array
            .elements
            .iter()
            .filter_map(|v| match v {
                Value::Object(o) => Some(&o.properties[..]),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    items.into_iter()
}
