//! Maison's messages in each language, from the Fluent files in `bot/i18n/<lang>/`.
//!
//! One immutable loader per language, built once; which one a message comes from is the `Lang`
//! the caller passes, so rendering stays a pure function of its arguments. Messages are looked up
//! with [`tr!`](crate::tr), which `i18n-embed-fl` checks at compile time: an id, attribute or
//! argument the English file does not define is a build error, not a blank reply.

use std::sync::LazyLock;

use i18n_embed::LanguageLoader;
use i18n_embed::fluent::{FluentLanguageLoader, fluent_language_loader};
use maison_command::Lang;
use rust_embed::RustEmbed;

/// The `.ftl` files, embedded in the binary: the bot reads no message files at run time.
#[derive(RustEmbed)]
#[folder = "i18n/"]
pub(crate) struct Messages;

static ENGLISH: LazyLock<FluentLanguageLoader> = LazyLock::new(|| load(Lang::En));
static JAPANESE: LazyLock<FluentLanguageLoader> = LazyLock::new(|| load(Lang::Ja));

fn load(lang: Lang) -> FluentLanguageLoader {
    let loader: FluentLanguageLoader = fluent_language_loader!();
    let id = lang
        .code()
        .parse()
        .expect("language codes are valid identifiers");
    loader
        .load_languages(&Messages, &[id])
        .expect("the embedded message files parse");
    // Fluent wraps every argument in Unicode isolation marks for right-to-left scripts; Slack
    // shows them as stray characters around host names and inside `code`.
    loader.set_use_isolating(false);
    loader
}

/// The messages in `lang`.
pub fn loader(lang: Lang) -> &'static FluentLanguageLoader {
    match lang {
        Lang::En => &ENGLISH,
        Lang::Ja => &JAPANESE,
    }
}

/// `tr!(lang, "message-id", arg = value, …)` or `tr!(lang, "message-id", "attribute", …)`: the
/// message in `lang`, its ids and arguments checked at compile time against the English file.
#[macro_export]
macro_rules! tr {
    ($lang:expr, $($rest:tt)+) => {
        i18n_embed_fl::fl!($crate::core::i18n::loader($lang), $($rest)+)
    };
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use fluent_syntax::ast::{Entry, Expression, InlineExpression, Pattern, PatternElement};

    use super::*;

    /// For each message or term (`-term`), and each of its attributes (`id.attr`), the variables
    /// it uses.
    type Shape = BTreeMap<String, BTreeSet<String>>;

    fn shape_of(lang: Lang) -> Shape {
        let mut shape = Shape::new();
        let prefix = format!("{}/", lang.code());
        let files: Vec<_> = Messages::iter()
            .filter(|path| path.starts_with(&prefix))
            .collect();
        assert!(!files.is_empty(), "no message files for {lang}");
        for path in files {
            let file = Messages::get(&path).expect("listed");
            let text = std::str::from_utf8(&file.data).expect("UTF-8");
            let resource = fluent_syntax::parser::parse(text)
                .unwrap_or_else(|(_, errors)| panic!("{path} does not parse: {errors:?}"));
            for entry in resource.body {
                let (id, value, attributes) = match entry {
                    Entry::Message(m) => (m.id.name.to_owned(), m.value, m.attributes),
                    Entry::Term(t) => (format!("-{}", t.id.name), Some(t.value), t.attributes),
                    _ => continue,
                };
                let mut variables = BTreeSet::new();
                if let Some(value) = &value {
                    collect_variables(value, &mut variables);
                }
                let fresh = shape.insert(id.clone(), variables).is_none();
                assert!(fresh, "{path} defines `{id}` twice");
                for attribute in attributes {
                    let mut variables = BTreeSet::new();
                    collect_variables(&attribute.value, &mut variables);
                    shape.insert(format!("{id}.{}", attribute.id.name), variables);
                }
            }
        }
        shape
    }

    fn collect_variables(pattern: &Pattern<&str>, into: &mut BTreeSet<String>) {
        for element in &pattern.elements {
            if let PatternElement::Placeable { expression } = element {
                collect_expression(expression, into);
            }
        }
    }

    fn collect_expression(expression: &Expression<&str>, into: &mut BTreeSet<String>) {
        match expression {
            Expression::Inline(inline) => collect_inline(inline, into),
            Expression::Select { selector, variants } => {
                collect_inline(selector, into);
                for variant in variants {
                    collect_variables(&variant.value, into);
                }
            }
        }
    }

    fn collect_inline(inline: &InlineExpression<&str>, into: &mut BTreeSet<String>) {
        match inline {
            InlineExpression::VariableReference { id } => {
                into.insert(id.name.to_owned());
            }
            InlineExpression::Placeable { expression } => collect_expression(expression, into),
            InlineExpression::FunctionReference { arguments, .. } => {
                for argument in &arguments.positional {
                    collect_inline(argument, into);
                }
                for named in &arguments.named {
                    collect_inline(&named.value, into);
                }
            }
            _ => {}
        }
    }

    /// Both directions: Japanese lacks nothing English has (no English fallback shown to a
    /// Japanese reader), and has nothing English lacks (`tr!` could never reach it).
    #[test]
    fn every_language_defines_the_same_messages_attributes_and_variables() {
        let english = shape_of(Lang::En);
        for lang in Lang::ALL {
            let other = shape_of(lang);
            let missing: Vec<_> = english
                .keys()
                .filter(|id| !other.contains_key(*id))
                .collect();
            let extra: Vec<_> = other
                .keys()
                .filter(|id| !english.contains_key(*id))
                .collect();
            assert!(missing.is_empty(), "{lang} lacks {missing:?}");
            assert!(extra.is_empty(), "{lang} has ids English lacks: {extra:?}");
            for (id, variables) in &english {
                assert_eq!(
                    &other[id], variables,
                    "`{id}` uses different variables in {lang} than in English"
                );
            }
        }
    }

    #[test]
    fn the_checker_sees_variables_attributes_and_terms() {
        let shape = shape_of(Lang::En);
        let booked = &shape["booked"];
        assert!(
            booked.contains("host") && booked.contains("span"),
            "{booked:?}"
        );
        assert!(shape["booked.hint"].contains("id"));
    }

    #[test]
    fn messages_come_in_the_language_asked_for_without_isolation_marks() {
        assert_eq!(crate::tr!(Lang::En, "day-today"), "today");
        assert_eq!(crate::tr!(Lang::Ja, "day-today"), "今日");
        let hint = crate::tr!(Lang::Ja, "booked", "hint", id = 7);
        assert!(hint.starts_with("`/maison release 7`"), "{hint}");
        assert!(!hint.contains('\u{2068}'), "{hint:?}");
    }
}
