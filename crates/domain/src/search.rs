//! Search keys for Chinese names: full pinyin and pinyin initials.
//!
//! Clerks search people by typing initials (`zs` for 张三) on a keyboard without an input
//! method. The keys are derived once when a record is written and stored beside it, so a
//! search is an indexed prefix match, not a scan.

use pinyin::ToPinyin;

/// Pinyin initials of a name, lower-case: `张三` → `zs`. Characters without a reading
/// (the middle dot, Latin letters) are kept if alphanumeric, dropped otherwise.
pub fn pinyin_initials(text: &str) -> String {
    text.chars()
        .filter_map(|character| match character.to_pinyin() {
            Some(reading) => reading.first_letter().chars().next(),
            None if character.is_ascii_alphanumeric() => Some(character.to_ascii_lowercase()),
            None => None,
        })
        .collect()
}

/// Full pinyin without tones, lower-case, no separators: `张三` → `zhangsan`.
pub fn pinyin_full(text: &str) -> String {
    let mut pinyin = String::with_capacity(text.len() * 2);
    for character in text.chars() {
        match character.to_pinyin() {
            Some(reading) => pinyin.push_str(reading.plain()),
            None if character.is_ascii_alphanumeric() => {
                pinyin.push(character.to_ascii_lowercase());
            }
            None => {}
        }
    }
    pinyin
}

/// Normalises what a user typed as initials: lower-case ASCII letters only, or `None` when
/// nothing usable is left.
pub fn normalise_initials(query: &str) -> Option<String> {
    let initials: String = query
        .chars()
        .filter(char::is_ascii_alphabetic)
        .map(|character| character.to_ascii_lowercase())
        .collect();
    (!initials.is_empty()).then_some(initials)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_and_full_pinyin_of_chinese_names() {
        assert_eq!(pinyin_initials("张三"), "zs");
        assert_eq!(pinyin_initials("欧阳修"), "oyx");
        assert_eq!(pinyin_initials("阿依古丽·买买提"), "ayglmmt");
        assert_eq!(pinyin_full("李四"), "lisi");
        assert_eq!(normalise_initials(" Z-S "), Some("zs".to_owned()));
        assert_eq!(normalise_initials("123"), None);
    }
}
