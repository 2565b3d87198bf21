//! The languages Maison speaks. Lives in the grammar crate because help, generated from the
//! command table here, and the bot's replies must agree on one list.

use std::fmt;
use std::str::FromStr;

/// A language replies are written in. Passed to every rendering function as a plain value: there
/// is no "current language" anywhere, so two users can be answered in two languages at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    /// The fallback: every message exists in English first.
    #[default]
    En,
    Ja,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ja];

    /// A person's language: the one they chose (`/maison lang`, stored as its code), else the
    /// one of their Slack locale.
    pub fn chosen_or_slack(chosen: Option<&str>, slack_locale: Option<&str>) -> Lang {
        chosen
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| Lang::from_slack_locale(slack_locale.unwrap_or_default()))
    }

    /// The language for a Slack locale (`ja-JP`, `en-US`, …): any Japanese locale reads
    /// Japanese, everything else, unknown ones included, reads English.
    pub fn from_slack_locale(locale: &str) -> Lang {
        let primary = locale.split(['-', '_']).next().unwrap_or("");
        if primary.eq_ignore_ascii_case("ja") {
            Lang::Ja
        } else {
            Lang::En
        }
    }

    /// The BCP 47 tag, as Fluent and the settings store it.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ja => "ja",
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Not one of the codes Maison speaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a language Maison speaks: use `en` or `ja`")]
pub struct UnknownLang(pub String);

impl FromStr for Lang {
    type Err = UnknownLang;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        match code.to_ascii_lowercase().as_str() {
            "en" | "english" => Ok(Lang::En),
            "ja" | "jp" | "japanese" | "日本語" => Ok(Lang::Ja),
            _ => Err(UnknownLang(code.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_locales() {
        assert_eq!(Lang::from_slack_locale("ja-JP"), Lang::Ja);
        assert_eq!(Lang::from_slack_locale("ja"), Lang::Ja);
        assert_eq!(Lang::from_slack_locale("JA_jp"), Lang::Ja);
        assert_eq!(Lang::from_slack_locale("en-US"), Lang::En);
        assert_eq!(Lang::from_slack_locale("fr-FR"), Lang::En);
        assert_eq!(Lang::from_slack_locale(""), Lang::En);
        assert_eq!(
            Lang::from_slack_locale("jam-JM"),
            Lang::En,
            "a prefix is not enough"
        );
    }

    #[test]
    fn codes_round_trip() {
        for lang in Lang::ALL {
            assert_eq!(lang.code().parse::<Lang>(), Ok(lang));
        }
        assert_eq!("JA".parse::<Lang>(), Ok(Lang::Ja));
        assert_eq!("de".parse::<Lang>(), Err(UnknownLang("de".to_owned())));
    }
}
