//! Unit tests of the route table: tree priority, converters, templates and reverse URLs.

use std::borrow::Cow;

use super::{template_params, Match, Param, Router, ScopeType, UrlValue, Value};
use crate::error::Error;

const ANY: Option<&[&str]> = None;

fn route(router: &mut Router, template: &str) -> usize {
    router
        .add_route(template, ANY, None, ScopeType::Http)
        .expect("valid template")
}

fn index_of(found: &Match<'_, '_>) -> Option<usize> {
    match found {
        Match::Route { index, .. } | Match::Mount { index, .. } => Some(*index),
        Match::NotFound | Match::MethodNotAllowed { .. } => None,
    }
}

fn first_value<'p>(found: &Match<'_, 'p>) -> Option<Value<'p>> {
    match found {
        Match::Route { params, .. } | Match::Mount { params, .. } => {
            params.first().map(|param| param.value)
        }
        Match::NotFound | Match::MethodNotAllowed { .. } => None,
    }
}

#[test]
fn first_added_wins_over_static_and_dynamic_children() {
    let mut router = Router::new();
    let dynamic = route(&mut router, "/users/{name}");
    let fixed = route(&mut router, "/users/me");
    assert_eq!(
        index_of(&router.match_path("http", "GET", "/users/me")),
        Some(dynamic)
    );
    let mut reversed = Router::new();
    route(&mut reversed, "/other");
    let fixed_first = route(&mut reversed, "/users/me");
    route(&mut reversed, "/users/{name}");
    assert_eq!(
        index_of(&reversed.match_path("http", "GET", "/users/me")),
        Some(fixed_first)
    );
    assert_eq!(fixed, 1);
}

#[test]
fn lowest_index_wins_among_many_routes() {
    let mut router = Router::new();
    for position in 0..500 {
        route(&mut router, &format!("/r{position}/{{id:int}}"));
    }
    let catch_all = route(&mut router, "/{rest:path}");
    let late = route(&mut router, "/r7/{id:int}");
    assert_eq!(
        index_of(&router.match_path("http", "GET", "/r7/1")),
        Some(7)
    );
    assert_eq!(
        index_of(&router.match_path("http", "GET", "/r499/x")),
        Some(catch_all)
    );
    assert!(late > catch_all);
}

#[test]
fn mount_takes_a_prefix_and_keeps_the_rest() {
    let mut router = Router::new();
    let mount = router.add_mount("/api/{version:int}/", None).unwrap();
    let found = router.match_path("websocket", "", "/api/2/items");
    assert_eq!(
        found,
        Match::Mount {
            index: mount,
            params: vec![Param {
                name: "version",
                value: Value::Int(2)
            }],
            matched_path: "/api/2",
            remaining_path: "/items",
        }
    );
    assert_eq!(router.match_path("http", "GET", "/api/2x"), Match::NotFound);
}

#[test]
fn method_not_allowed_merges_sorted_methods() {
    let mut router = Router::new();
    router
        .add_route("/items", Some(&["post", "GET"]), None, ScopeType::Http)
        .unwrap();
    router
        .add_route("/{name}", Some(&["DELETE"]), None, ScopeType::Http)
        .unwrap();
    router
        .add_route("/items", ANY, None, ScopeType::Websocket)
        .unwrap();
    assert_eq!(
        router.match_path("http", "PUT", "/items"),
        Match::MethodNotAllowed {
            allow: vec!["DELETE", "GET", "POST"]
        }
    );
    assert_eq!(
        index_of(&router.match_path("websocket", "", "/items")),
        Some(2)
    );
    assert_eq!(
        router.match_path("http", "GET", "/nothing/here"),
        Match::NotFound
    );
}

#[test]
fn converters_turn_text_into_typed_values() {
    let mut router = Router::new();
    route(&mut router, "/i/{v:int}");
    route(&mut router, "/f/{v:float}");
    route(&mut router, "/d/{v:decimal}");
    route(&mut router, "/u/{v:uuid}");
    let big = "123456789012345678901234567890";
    let cases = [
        ("/i/42", Some(Value::Int(42))),
        ("/i/-1", None),
        ("/f/2.5E+10", Some(Value::Float(2.5e10))),
        ("/f/1e-3", Some(Value::Float(1e-3))),
        ("/f/1.", None),
        ("/d/-1.50", Some(Value::Decimal("-1.50"))),
        ("/d/1e1234567890123456", None),
        (
            "/u/A0B1C2D3-0000-0000-0000-00000000000F",
            Some(Value::Uuid(0xa0b1_c2d3_u128 << 96 | 0xf)),
        ),
        ("/u/a0b1c2d30000000000000000000000000000", None),
    ];
    for (path, expected) in cases {
        assert_eq!(
            first_value(&router.match_path("http", "GET", path)),
            expected,
            "{path}"
        );
    }
    let path = format!("/i/{big}");
    assert_eq!(
        first_value(&router.match_path("http", "GET", &path)),
        Some(Value::BigInt(big))
    );
}

#[test]
fn partial_segments_are_greedy_and_backtrack() {
    let mut router = Router::new();
    route(&mut router, "/v{major:int}.{minor:int}");
    route(&mut router, "/{name}.{ext}");
    let found = router.match_path("http", "GET", "/archive.tar.gz");
    let Match::Route { index: 1, params } = found else {
        panic!("unexpected {found:?}");
    };
    assert_eq!(params[0].value, Value::Str("archive.tar"));
    assert_eq!(params[1].value, Value::Str("gz"));
    assert_eq!(
        index_of(&router.match_path("http", "GET", "/v1.20")),
        Some(0)
    );
}

#[test]
fn template_errors_name_the_problem() {
    let reason = |template: &str| match template_params(template) {
        Err(Error::Template { reason, .. }) => reason,
        other => panic!("{template}: {other:?}"),
    };
    assert_eq!(reason("x"), "a template must start with \"/\"");
    assert_eq!(reason("/{a"), "unbalanced braces: \"{\" without \"}\"");
    assert_eq!(
        reason("/{a:bogus}"),
        "unknown converter \"bogus\" for parameter \"a\""
    );
    assert_eq!(reason("/{a}/{a}"), "duplicate parameter name \"a\"");
    assert_eq!(
        reason("/{p:path}/{b}"),
        "a \"path\" parameter must be the last parameter"
    );
    assert_eq!(
        template_params("/{a}/{b:uuid}/{c:path}").unwrap(),
        vec![
            ("a".to_owned(), "str"),
            ("b".to_owned(), "uuid"),
            ("c".to_owned(), "path")
        ]
    );
}

#[test]
fn url_path_for_escapes_by_converter() {
    let mut router = Router::new();
    router
        .add_route("/s/{s}/p/{p:path}", ANY, Some("both"), ScopeType::Http)
        .unwrap();
    let url = router
        .url_path_for(
            "both",
            &[
                ("s", UrlValue::Str(Cow::Borrowed("a b/c%"))),
                ("p", UrlValue::Str(Cow::Borrowed("x y/z"))),
            ],
        )
        .unwrap();
    assert_eq!(url, "/s/a%20b%2Fc%25/p/x%20y/z");
}

#[test]
fn url_path_for_refuses_a_decimal_that_cannot_match() {
    let mut router = Router::new();
    router
        .add_route("/d/{v:decimal}", ANY, Some("d"), ScopeType::Http)
        .unwrap();
    let build = |text: &'static str| {
        router.url_path_for("d", &[("v", UrlValue::Decimal(Cow::Borrowed(text)))])
    };
    assert_eq!(
        build("1E+999999999999999").unwrap(),
        "/d/1E+999999999999999"
    );
    let Err(Error::UrlBuild { reason, .. }) = build("1E+9999999999999999") else {
        panic!("a 16-digit exponent must be refused");
    };
    assert_eq!(
        reason,
        "parameter \"v\" (decimal converter): \"1E+9999999999999999\" has an exponent of more than 15 digits"
    );
    // What url_path_for accepts, match_path matches.
    let path = build("1E+999999999999999").unwrap();
    assert!(matches!(
        router.match_path("http", "GET", &path),
        Match::Route { .. }
    ));
}
