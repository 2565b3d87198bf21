//! Splits a command line into words, on demand.
//!
//! The lexer is pulled one word at a time rather than run over the whole line up front, so that
//! an unquoted note (`for Bob's "big" run`) can be taken verbatim as the rest of the line, and a
//! quote character only matters where a quoted word is expected.

/// Straight quotes and the typographic ones Slack clients substitute for them.
const QUOTES: [char; 4] = ['"', '\u{201C}', '\u{201D}', '\u{201E}'];

/// Single quotes, straight and typographic; they quote only in a container command.
const SINGLE_QUOTES: [char; 4] = ['\'', '\u{2018}', '\u{2019}', '\u{201A}'];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    /// The word, or the text between the quotes.
    pub text: &'a str,
    /// As typed, quotes included, for error messages.
    pub raw: &'a str,
    pub quoted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UnterminatedQuote;

#[derive(Debug, Clone)]
pub(crate) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a str) -> Self {
        Lexer { src, pos: 0 }
    }

    fn skip_whitespace(&mut self) {
        let rest = &self.src[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
    }

    pub fn next_token(&mut self) -> Result<Option<Token<'a>>, UnterminatedQuote> {
        self.skip_whitespace();
        let rest = &self.src[self.pos..];
        let Some(first) = rest.chars().next() else {
            return Ok(None);
        };
        if QUOTES.contains(&first) {
            let body = &rest[first.len_utf8()..];
            let close = body.find(QUOTES).ok_or(UnterminatedQuote)?;
            let close_len = body[close..].chars().next().map_or(1, char::len_utf8);
            let len = first.len_utf8() + close + close_len;
            self.pos += len;
            return Ok(Some(Token {
                text: &body[..close],
                raw: &rest[..len],
                quoted: true,
            }));
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        self.pos += end;
        Ok(Some(Token {
            text: &rest[..end],
            raw: &rest[..end],
            quoted: false,
        }))
    }

    pub fn peek(&self) -> Result<Option<Token<'a>>, UnterminatedQuote> {
        self.clone().next_token()
    }

    /// What was read so far and what is left, both trimmed; reads nothing.
    pub fn split_here(&self) -> (&'a str, &'a str) {
        let (read, left) = self.src.split_at(self.pos);
        (read.trim(), left.trim())
    }

    /// Everything not yet read, trimmed; the lexer is then exhausted.
    pub fn rest(&mut self) -> &'a str {
        self.skip_whitespace();
        let rest = &self.src[self.pos..];
        self.pos = self.src.len();
        rest.trim_end()
    }
}

/// Splits a container command into words the way a shell would, without expansions or escapes:
/// quoted text, double (`"…"`, `“…”`) or single (`'…'`, `‘…’`), keeps its spaces and joins the
/// text around it (`--msg="a b"` is one word), and `""` is an empty word. Inside one kind of
/// quotes the other kind is plain text. Typographic quotes are accepted in either direction,
/// since Slack clients pick them by position.
pub(crate) fn command_words(src: &str) -> Result<Vec<String>, UnterminatedQuote> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = src.chars();
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            words.extend(word.take());
            continue;
        }
        let word = word.get_or_insert_with(String::new);
        let closing: &[char] = if QUOTES.contains(&c) {
            &QUOTES
        } else if SINGLE_QUOTES.contains(&c) {
            &SINGLE_QUOTES
        } else {
            word.push(c);
            continue;
        };
        loop {
            match chars.next() {
                None => return Err(UnterminatedQuote),
                Some(c) if closing.contains(&c) => break,
                Some(c) => word.push(c),
            }
        }
    }
    words.extend(word);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(src: &str) -> Result<Vec<(&str, bool)>, UnterminatedQuote> {
        let mut lexer = Lexer::new(src);
        let mut out = Vec::new();
        while let Some(token) = lexer.next_token()? {
            out.push((token.text, token.quoted));
        }
        Ok(out)
    }

    #[test]
    fn splits_on_any_whitespace() {
        assert_eq!(
            words("  book\tgpu01\n 2h ").unwrap(),
            vec![("book", false), ("gpu01", false), ("2h", false)]
        );
    }

    #[test]
    fn straight_and_smart_quotes_delimit_one_word() {
        assert_eq!(
            words("for \"a b\" “c d” „e”").unwrap(),
            vec![("for", false), ("a b", true), ("c d", true), ("e", true)]
        );
    }

    #[test]
    fn missing_closing_quote_is_an_error() {
        assert_eq!(words("for “a b"), Err(UnterminatedQuote));
    }

    #[test]
    fn split_here_reads_nothing() {
        let mut lexer = Lexer::new(" a  b c ");
        lexer.next_token().unwrap();
        assert_eq!(lexer.split_here(), ("a", "b c"));
        assert_eq!(lexer.next_token().unwrap().unwrap().text, "b");
    }

    #[test]
    fn command_words_split_like_a_shell() {
        let words = |src| command_words(src).unwrap();
        assert_eq!(
            words("  python  train.py\t-x "),
            ["python", "train.py", "-x"]
        );
        assert_eq!(
            words("bash -c \"echo 'hi there'\""),
            ["bash", "-c", "echo 'hi there'"]
        );
        assert_eq!(words("sh -c 'say \"hi\"'"), ["sh", "-c", "say \"hi\""]);
        assert_eq!(words("--msg=\"a b\"c"), ["--msg=a bc"]);
        assert_eq!(words("a \"\" b ''"), ["a", "", "b", ""]);
        assert_eq!(
            words("echo “a b” ‘c d’ ”e f”"),
            ["echo", "a b", "c d", "e f"]
        );
        assert_eq!(words("“it’s”"), ["it’s"]);
        assert!(words("").is_empty());
    }

    #[test]
    fn command_words_refuse_an_open_quote() {
        assert_eq!(command_words("echo \"hi"), Err(UnterminatedQuote));
        assert_eq!(command_words("echo ‘hi"), Err(UnterminatedQuote));
        assert_eq!(command_words("it’s"), Err(UnterminatedQuote));
    }

    #[test]
    fn rest_is_verbatim_and_trimmed() {
        let mut lexer = Lexer::new("for  Bob's \"big\" run  ");
        lexer.next_token().unwrap();
        assert_eq!(lexer.rest(), "Bob's \"big\" run");
        assert_eq!(lexer.next_token().unwrap(), None);
    }
}
