//! CSV written for people to open in a spreadsheet (registers, survey responses): every cell goes
//! through [`csv_cell`], so text a participant typed can neither split into other cells nor run
//! as a formula, whichever separator the spreadsheet splits on.

/// Characters a spreadsheet may split a line on, or start a new line at.
const DELIMITERS: [char; 5] = [',', ';', '\t', '\r', '\n'];

/// Characters that make a spreadsheet read what follows as a formula (OWASP's list).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// One CSV cell. A cell, or any part of it after a delimiter (`,` `;` tab CR LF), that begins
/// like a formula (`=` `+` `-` `@`, tab or CR) gets a leading `'`, which spreadsheets show as
/// text; a cell holding a delimiter or a double quote is quoted, its quotes doubled.
pub fn csv_cell(text: &str) -> String {
    let mut defused = String::with_capacity(text.len() + 2);
    let mut at_start = true;
    for c in text.chars() {
        if at_start && FORMULA_STARTS.contains(&c) {
            defused.push('\'');
        }
        defused.push(c);
        at_start = DELIMITERS.contains(&c);
    }
    if defused.contains(DELIMITERS) || defused.contains('"') {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

/// One CSV line of `cells`, each through [`csv_cell`], ended by CRLF.
pub fn csv_line<S: AsRef<str>>(cells: impl IntoIterator<Item = S>) -> String {
    let mut line = cells
        .into_iter()
        .map(|cell| csv_cell(cell.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// A CSV file to download, named `name`: `text/csv` in UTF-8, as an attachment, never cached
/// (it holds the network's data).
pub fn csv_download(name: &str, body: String) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{name}\"")))
        .insert_header(("Cache-Control", "no-store"))
        .body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_when_they_hold_a_delimiter_or_a_quote() {
        assert_eq!(csv_cell("Ann Jones"), "Ann Jones");
        assert_eq!(csv_cell(""), "");
        assert_eq!(csv_cell("Smith, Jo"), "\"Smith, Jo\"");
        assert_eq!(csv_cell("Smith; Jo"), "\"Smith; Jo\"");
        assert_eq!(csv_cell("a\tb"), "\"a\tb\"");
        assert_eq!(csv_cell("line\r\nnext"), "\"line\r\nnext\"");
        assert_eq!(csv_cell("Say \"hi\""), "\"Say \"\"hi\"\"\"");
    }

    #[test]
    fn formulas_are_defused_at_the_start_and_after_every_delimiter() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-1"), "'-1");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("fine;=2+5*SUM(A1:A9)"), "\"fine;'=2+5*SUM(A1:A9)\"");
        assert_eq!(csv_cell("a, +b"), "\"a, +b\"", "a space first is not a formula");
        assert_eq!(csv_cell("a,+b\n-c"), "\"a,'+b\n'-c\"");
        assert_eq!(csv_cell("\tx"), "\"'\tx\"");
        assert_eq!(csv_cell("a;\t=b"), "\"a;'\t'=b\"", "a tab is a delimiter too");
        assert_eq!(csv_cell("2+2=4"), "2+2=4", "only a start counts");
    }

    #[test]
    fn a_line_joins_its_cells_with_commas_and_ends_in_crlf() {
        assert_eq!(csv_line(["a", "b,c", "=d"]), "a,\"b,c\",'=d\r\n");
    }
}
