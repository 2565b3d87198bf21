//! Every decoder of outside input survives garbage: a few thousand mutated inputs per target
//! here (a million each in `garbage-bench`), no panic, no input that hangs.

use std::time::Duration;

use maison_tests::garbage;

/// Far beyond any decoder's time on one input: only a hang gets there.
const HANG: Duration = Duration::from_secs(10);

#[test]
fn no_decoder_panics_or_hangs_on_garbage() {
    let mut failures = Vec::new();
    for target in garbage::targets() {
        let outcome = garbage::run(&target, 3_000, 7);
        assert_eq!(outcome.inputs, 3_000);
        if outcome.panics > 0 {
            failures.push(format!(
                "{}: {} panics, first on {:?}",
                outcome.name, outcome.panics, outcome.first_panic
            ));
        }
        if outcome.slowest > HANG {
            failures.push(format!(
                "{}: {:?} on {:?}",
                outcome.name, outcome.slowest, outcome.slowest_input
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn mutations_reach_past_the_first_check() {
    // Most mutated commands must still start with a command word, or the parser's deeper
    // paths would never be exercised.
    let target = garbage::targets().into_iter().next().unwrap();
    let mut rng = fastrand::Rng::with_seed(1);
    let inputs: Vec<String> = (0..1_000)
        .map(|_| garbage::mutate(&mut rng, &target.seeds, &target.dictionary))
        .collect();
    let parsed = inputs
        .iter()
        .filter(|i| {
            let context = maison_command::ParseContext {
                now: chrono::Utc::now(),
                tz: chrono_tz::UTC,
            };
            maison_command::parse(i, &context).is_ok()
        })
        .count();
    assert!(
        parsed > 50,
        "only {parsed} of 1000 mutated commands still parse"
    );
    assert!(parsed < 1_000, "no mutation broke anything");
    let distinct: std::collections::HashSet<&String> = inputs.iter().collect();
    assert!(distinct.len() > 900, "{} distinct inputs", distinct.len());
}

#[test]
fn a_panicking_decoder_is_caught_counted_and_shown() {
    let target = garbage::Target {
        name: "panics on x",
        seeds: vec!["abc".into(), "xyz".into()],
        dictionary: vec!["x"],
        run: Box::new(|input| assert!(!input.contains('x'), "found x")),
    };
    let outcome = garbage::run(&target, 500, 3);
    assert!(outcome.panics > 0);
    assert!(outcome.panics < 500);
    assert_eq!(
        outcome.first_panic.as_deref(),
        Some("xyz"),
        "the seeds come first"
    );
}
