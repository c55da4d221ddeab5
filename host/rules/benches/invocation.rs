//! One rule invocation per message: a fresh instance plus `evaluate`, for
//! each shipped rule, next to a plain Rust function with the same logic.
//!
//! Run with `cargo bench -p mailgate-rules --bench invocation`; results and
//! the machine they were measured on are in `docs/benchmarks.md`.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use mailgate_message::{Envelope, ParsedMessage, PartId};
use mailgate_rules::{Action, PoolSize, RuleDefinition, RuleEngine, RuleInput, RuleLimits, RuleSource};

fn sample() -> (ParsedMessage, Envelope) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/mail/pdf-with-inline-logo.eml");
    let message = ParsedMessage::parse(std::fs::read(path).expect("sample message")).expect("sample parses");
    let envelope = Envelope {
        client_address: "192.0.2.10".to_string(),
        helo: "mail.example.com".to_string(),
        mail_from: "alice@example.com".to_string(),
        rcpt_to: vec!["bob@example.org".to_string()],
    };
    (message, envelope)
}

/// The logic of `secure-storage` as a plain function over the host's types.
fn native_secure_storage(message: &ParsedMessage) -> Vec<Action> {
    let attachments: Vec<PartId> = message.attachments().map(|part| part.id).collect();
    if attachments.is_empty() {
        return Vec::new();
    }
    vec![Action::RemoveParts(attachments.clone()), Action::UploadParts(attachments), Action::LinkUploads]
}

fn invocation(criterion: &mut Criterion) {
    let (message, envelope) = sample();
    let on_demand = RuleEngine::new().expect("engine");
    let pooled = RuleEngine::with_pool(PoolSize { max_instances: 16, max_memory_bytes: RuleLimits::default().max_memory_bytes })
        .expect("pooled engine");
    let mut group = criterion.benchmark_group("rule_invocation");

    for (allocator, engine) in [("pooling", &pooled), ("on-demand", &on_demand)] {
        for name in ["no-attachment", "secure-storage", "large-attachments"] {
            let rule = engine.load(&RuleDefinition::new(name, RuleSource::Shipped(name.to_string()))).expect("rule loads");
            let input = RuleInput::new(&message, &envelope);
            group.bench_function(BenchmarkId::new(format!("component/{allocator}"), name), |bencher| {
                bencher.iter(|| rule.evaluate(black_box(&input)).expect("rule runs"))
            });
        }
    }
    let engine = &pooled;

    group.bench_function(BenchmarkId::new("component_with_view", "secure-storage"), |bencher| {
        let rule = engine
            .load(&RuleDefinition::new("secure-storage", RuleSource::Shipped("secure-storage".to_string())))
            .expect("rule loads");
        bencher.iter(|| {
            let input = RuleInput::new(black_box(&message), black_box(&envelope));
            rule.evaluate(&input).expect("rule runs")
        })
    });

    group.bench_function(BenchmarkId::new("native", "secure-storage"), |bencher| {
        bencher.iter(|| native_secure_storage(black_box(&message)))
    });

    group.finish();
}

criterion_group!(benches, invocation);
criterion_main!(benches);
