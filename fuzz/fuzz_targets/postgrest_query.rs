//! Any query string as supabase-js would send it: split into pairs, parsed as a PostgREST
//! query (select, filters, logic trees, order, range) — never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scaliyo_domain::postgrest::{Query, parse_select};

fuzz_target!(|text: &str| {
    let pairs: Vec<(String, String)> = text
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) => (key.to_owned(), value.to_owned()),
            None => (pair.to_owned(), String::new()),
        })
        .collect();
    let _ = Query::parse(&pairs);
    let _ = parse_select(text);
});
