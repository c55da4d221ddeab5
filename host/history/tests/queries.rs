//! Filters, order and paging of history listings, against each backend.

mod common;

use chrono::Duration;
use common::{TestCase, TestStore, backend_tests, record_samples, start};
use mailgate_history::{HistoryQuery, HistoryStore, MAX_LIMIT, OutcomeKind};

/// Lists the queue ids that `query` returns, in order.
fn queue_ids(store: &HistoryStore, query: &HistoryQuery) -> Vec<String> {
    store.query(query).unwrap().into_iter().map(|summary| summary.queue_id).collect()
}

backend_tests!(blocking:
    query_without_filters_is_newest_first,
    sender_filter_ignores_case,
    sender_filter_matches_whole_address,
    recipient_filter_matches_whole_address,
    subject_filter_is_case_insensitive_substring,
    message_id_filter_is_exact,
    outcome_filter_selects_each_kind,
    time_range_includes_from_excludes_to,
    filters_combine_with_and,
    paging_walks_all_records_once,
    equal_times_order_by_record_id,
    limit_zero_returns_nothing,
    summary_counts_attachments_and_failures,
);

fn query_without_filters_is_newest_first(case: TestCase) {
    let Some(TestStore { location: _location, store }) = TestStore::open(case) else { return };
    record_samples(&store);

    let all = queue_ids(&store, &HistoryQuery::default());

    assert_eq!(all, ["00000000000D", "00000000000C", "00000000000B", "00000000000A", "00000000000E"]);
    assert_eq!(store.count(&HistoryQuery::default()).unwrap(), 5);
}

fn sender_filter_ignores_case(case: TestCase) {
    let Some(TestStore { location: _location, store }) = TestStore::open(case) else { return };
    record_samples(&store);

    let query = HistoryQuery { sender: Some("ALICE@example.com".to_string()), ..Default::default() };

    assert_eq!(queue_ids(&store, &query), ["00000000000C", "00000000000A"]);
    assert_eq!(store.count(&query).unwrap(), 2);
}

fn sender_filter_matches_whole_address(case: TestCase) {
    let Some(TestStore { location: _location, store }) = TestStore::open(case) else { return };
    record_samples(&store);

    let partial = HistoryQuery { sender: Some("lice@example.com".to_string()), ..Default::default() };
    let null_sender = HistoryQuery { sender: Some(String::new()), ..Default::default() };

    assert!(queue_ids(&store, &partial).is_empty());
    assert_eq!(queue_ids(&store, &null_sender), ["00000000000D"]);
}

fn recipient_filter_matches_whole_address(case: TestCase) {
    let Some(TestStore { location: _location, store }) = TestStore::open(case) else { return };
    record_samples(&store);

    let bob = HistoryQuery { recipient: Some("bob@example.org".to_string()), ..Default::default() };
    let xbob = HistoryQuery { recipient: Some("xbob@example.org".to_string()), ..Default::default() };
    let fragment = HistoryQuery { recipient: Some("ob@example.org".to_string()), ..Default::default() };
    let second = HistoryQuery { recipient: Some("carol@example.org".to_string()), ..Default::default() };

    assert_eq!(queue_ids(&store, &bob), ["00000000000C", "00000000000A"]);
    assert_eq!(queue_ids(&store, &xbob), ["00000000000B"]);
    assert!(queue_ids(&store, &fragment).is_empty());
    assert_eq!(queue_ids(&store, &second), ["00000000000A"]);
    assert_eq!(store.count(&bob).unwrap(), 2);
}

fn subject_filter_is_case_insensitive_substring(case: TestCase) {
    let Some(TestStore { location: _location, store }) = TestStore::open(case) else { return };
    record_samples(&store);

    let quarterly = HistoryQuery { subject: Some("QUARTERLY rep".to_string()), ..Default::default() };
    let unicode = HistoryQuery { subject: Some("ÜNÏCODE".to_string()), ..Default::default() };
    let percent = HistoryQuery { subject: Some("100%".to_string()), ..Default::default() };
    let wildcard = HistoryQuery { subject: Some("%".to_string()), ..Default::default() };
    let underscore = HistoryQuery { subject: Some("_".to_string()), ..Default::default() };

    assert_eq!(queue_ids(&store, &quarterly), ["00000000000C", "00000000000A"]);
    assert_eq!(queue_ids(&store, &unicode), ["00000000000E"]);
    assert_eq!(queue_ids(&store, &percent), ["00000000000B"]);
    assert_eq!(queue_ids(&store, &wildcard), ["00000000000B"], "`%` must match only itself");
    assert!(queue_ids(&store, &underscore).is_empty(), "`_` must match only itself");
}

fn message_id_filter_is_exact(case: TestCase) {
    let Some(TestStore { location: _location, store }) = TestStore::open(case) else { return };
    record_samples(&store);

    let exact = HistoryQuery { message_id: Some("q3@mail.example.com".to_string()), ..Default::default() };
    let bracketed = HistoryQuery { message_id: Some("<q3@mail.example.com>".to_string()), ..Default::default() };

    assert_eq!(queue_ids(&store, &exact), ["00000000000A"]);
    assert!(queue_ids(&store, &bracketed).is_empty());
}

fn outcome_filter_selects_each_kind(case: TestCase) {
    let Some(TestStore { location: _location, store }) = TestStore::open(case) else { return };
    record_samples(&store);

    let expected = [
        (OutcomeKind::Delivered, vec!["00000000000A", "00000000000E"]),
        (OutcomeKind::TemporaryFailure, vec!["00000000000C"]),
        (OutcomeKind::Rejected, vec!["00000000000D"]),
        (OutcomeKind::Blocked, vec!["00000000000B"]),
    ];
    for (kind, queue_ids_expected) in expected {
        let query = HistoryQuery { outcome: Some(kind), ..Default::default() };
        assert_eq!(queue_ids(&store, &query), queue_ids_expected, "outcome {kind}");
        assert_eq!(store.count(&query).unwrap(), queue_ids_expected.len() as u64, "count of outcome {kind}");
    }
}

fn time_range_includes_from_excludes_to(case: TestCase) {
    let Some(TestStore { location: _location, store }) = TestStore::open(case) else { return };
    record_samples(&store);

    let range = HistoryQuery { from: Some(start()), to: Some(start() + Duration::hours(2)), ..Default::default() };
    let since = HistoryQuery { from: Some(start() + Duration::hours(2)), ..Default::default() };
    let until = HistoryQuery { to: Some(start()), ..Default::default() };

    assert_eq!(queue_ids(&store, &range), ["00000000000B", "00000000000A"]);
    assert_eq!(queue_ids(&store, &since), ["00000000000D", "00000000000C"]);
    assert_eq!(queue_ids(&store, &until), ["00000000000E"]);
    assert_eq!(store.count(&range).unwrap(), 2);
}

fn filters_combine_with_and(case: TestCase) {
    let Some(TestStore { location: _location, store }) = TestStore::open(case) else { return };
    record_samples(&store);

    let query = HistoryQuery {
        sender: Some("alice@example.com".to_string()),
        outcome: Some(OutcomeKind::Delivered),
        ..Default::default()
    };

    assert_eq!(queue_ids(&store, &query), ["00000000000A"]);
}

fn paging_walks_all_records_once(case: TestCase) {
    let Some(TestStore { location: _location, store }) = TestStore::open(case) else { return };
    record_samples(&store);

    let page = |offset| HistoryQuery { limit: Some(2), offset, ..Default::default() };

    assert_eq!(queue_ids(&store, &page(0)), ["00000000000D", "00000000000C"]);
    assert_eq!(queue_ids(&store, &page(2)), ["00000000000B", "00000000000A"]);
    assert_eq!(queue_ids(&store, &page(4)), ["00000000000E"]);
    assert!(queue_ids(&store, &page(6)).is_empty());
    assert!(queue_ids(&store, &page(u64::MAX)).is_empty());
    assert_eq!(store.count(&page(2)).unwrap(), 5, "count ignores limit and offset");
}

fn equal_times_order_by_record_id(case: TestCase) {
    let Some(TestStore { location: _location, store }) = TestStore::open(case) else { return };
    let first = store.record(&common::simple("SAME-TIME-1", start(), "a@example.com", &["b@example.org"])).unwrap();
    let second = store.record(&common::simple("SAME-TIME-2", start(), "a@example.com", &["b@example.org"])).unwrap();

    let ids: Vec<_> = store.query(&HistoryQuery::default()).unwrap().into_iter().map(|summary| summary.id).collect();

    assert_eq!(ids, [second, first]);
}

fn limit_zero_returns_nothing(case: TestCase) {
    let Some(TestStore { location: _location, store }) = TestStore::open(case) else { return };
    record_samples(&store);

    let query = HistoryQuery { limit: Some(0), ..Default::default() };

    assert!(store.query(&query).unwrap().is_empty());
}

fn summary_counts_attachments_and_failures(case: TestCase) {
    let Some(TestStore { location: _location, store }) = TestStore::open(case) else { return };
    let ids = record_samples(&store);

    let summaries = store.query(&HistoryQuery { sender: Some("alice@example.com".to_string()), ..Default::default() }).unwrap();
    let report = summaries.iter().find(|summary| summary.queue_id == "00000000000A").unwrap();
    let retry = summaries.iter().find(|summary| summary.queue_id == "00000000000C").unwrap();

    assert_eq!(report.id, ids[0]);
    assert_eq!(report.rcpt_to, ["bob@example.org", "carol@example.org"]);
    assert_eq!(report.subject.as_deref(), Some("Quarterly Report"));
    assert_eq!(report.message_id.as_deref(), Some("q3@mail.example.com"));
    assert_eq!(report.size, 58_321);
    assert_eq!(report.received_at, start());
    assert_eq!(report.outcome, common::quarterly_report().outcome);
    assert_eq!(report.attachments, 3);
    assert_eq!(report.failed_uploads, 1);
    assert_eq!(retry.attachments, 1);
    assert_eq!(retry.failed_uploads, 1);
}
#[test]
fn limit_has_default_and_maximum() {
    assert_eq!(HistoryQuery::default().effective_limit(), mailgate_history::DEFAULT_LIMIT);
    assert_eq!(HistoryQuery { limit: Some(MAX_LIMIT + 1), ..Default::default() }.effective_limit(), MAX_LIMIT);
    assert_eq!(HistoryQuery { limit: Some(7), ..Default::default() }.effective_limit(), 7);
}

