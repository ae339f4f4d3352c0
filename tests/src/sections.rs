//! Reading the output of the example apps that print their steps in sections (`== title`
//! followed by one line per step, a blank line before the next title).

/// The lines of the section titled `title` in `output`.
///
/// # Panics
///
/// If `output` has no such section: the test that asked for it fails, showing the output.
#[must_use]
pub fn section<'a>(output: &'a str, title: &str) -> Vec<&'a str> {
    let start = output
        .find(&format!("== {title}\n"))
        .unwrap_or_else(|| panic!("no section {title:?} in:\n{output}"));
    output[start..]
        .lines()
        .skip(1)
        .take_while(|line| !line.is_empty())
        .collect()
}
