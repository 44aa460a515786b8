//! Arbitrary bytes split into templates and paths: build a router, match every path, build URLs back.
#![no_main]

use std::borrow::Cow;

use flama_core::routing::{template_params, Match, Router, ScopeType, UrlValue, Value};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\n');
    let mut router = Router::new();
    // The first line says how many of the next lines are templates (a digit; 3 otherwise).
    let count = parts.next().and_then(|line| line.parse::<usize>().ok()).unwrap_or(3).min(8);
    let mut names = Vec::new();
    for (position, template) in parts.by_ref().take(count).enumerate() {
        let _ = template_params(template);
        let name = format!("n{position}");
        let added = match position % 4 {
            0 => router.add_mount(template, Some(&name)),
            1 => router.add_route(template, Some(&["get", "Post"]), Some(&name), ScopeType::Http),
            2 => router.add_route(template, None::<&[&str]>, Some(&name), ScopeType::Websocket),
            _ => router.add_route(template, None::<&[&str]>, Some(&name), ScopeType::Http),
        };
        if added.is_ok() {
            names.push(name);
        }
    }
    for path in parts {
        for (scope, method) in [("http", "GET"), ("http", "DELETE"), ("websocket", ""), ("lifespan", "")] {
            let found = router.match_path(scope, method, path);
            let params = match &found {
                Match::Route { params, .. } | Match::Mount { params, .. } => params.clone(),
                Match::NotFound | Match::MethodNotAllowed { .. } => continue,
            };
            let values: Vec<(&str, UrlValue<'_>)> = params
                .iter()
                .map(|param| {
                    let value = match param.value {
                        Value::Str(text) | Value::Path(text) | Value::BigInt(text) => {
                            UrlValue::Str(Cow::Borrowed(text))
                        }
                        Value::Decimal(text) => UrlValue::Decimal(Cow::Borrowed(text)),
                        Value::Int(number) => UrlValue::Int(Cow::Owned(number.to_string())),
                        Value::Float(number) => UrlValue::Float(number),
                        Value::Uuid(number) => UrlValue::Uuid(number),
                    };
                    (param.name, value)
                })
                .collect();
            for name in &names {
                let _ = router.url_path_for(name, &values);
            }
        }
    }
});
