//! Go's `text/tabwriter` as kubectl configures it (liggitt/tabwriter with `RememberWidths`):
//! text is split into tab-terminated cells; consecutive lines sharing a column form a block
//! whose width is the widest cell plus padding; the text after a line's last tab is not part
//! of any column. A line without tabs flushes, as upstream's writer does.

use std::io::{self, Write};

/// A tab writer buffering lines until [`TabWriter::flush`].
#[derive(Debug, Clone)]
pub struct TabWriter {
    min_width: usize,
    padding: usize,
    remember: bool,
    max_widths: Vec<usize>,
    lines: Vec<Vec<String>>,
    cell: String,
    line: Vec<String>,
    out: Vec<u8>,
}

impl TabWriter {
    /// kubectl's `printers.GetNewTabWriter`: min width 6, padding 3, remembering widths.
    pub fn kubectl() -> Self {
        TabWriter::new(6, 3, true)
    }

    /// `describe`'s writer: min width 0, padding 2.
    pub fn describe() -> Self {
        TabWriter::new(0, 2, false)
    }

    /// A writer with the given minimum cell width and padding.
    pub fn new(min_width: usize, padding: usize, remember: bool) -> Self {
        TabWriter {
            min_width,
            padding,
            remember,
            max_widths: Vec::new(),
            lines: Vec::new(),
            cell: String::new(),
            line: Vec::new(),
            out: Vec::new(),
        }
    }

    /// Forgets the widths remembered across flushes.
    pub fn reset_widths(&mut self) {
        self.max_widths.clear();
    }

    /// Buffers text.
    pub fn write_str(&mut self, s: &str) {
        let mut rest = s;
        while let Some(pos) = rest.find(['\t', '\n']) {
            self.cell.push_str(&rest[..pos]);
            let cell = std::mem::take(&mut self.cell);
            self.line.push(cell);
            if rest.as_bytes()[pos] == b'\n' {
                let line = std::mem::take(&mut self.line);
                let single = line.len() == 1;
                self.lines.push(line);
                if single {
                    self.format_buffered();
                }
            }
            rest = &rest[pos + 1..];
        }
        self.cell.push_str(rest);
    }

    /// Formats everything buffered and writes it to `w`.
    pub fn flush(&mut self, w: &mut dyn Write) -> io::Result<()> {
        if !self.cell.is_empty() || !self.line.is_empty() {
            let cell = std::mem::take(&mut self.cell);
            let mut line = std::mem::take(&mut self.line);
            line.push(cell);
            self.lines.push(line);
            self.format_buffered();
            // The last line had no newline: drop the one format added.
            if self.out.last() == Some(&b'\n') {
                self.out.pop();
            }
        } else {
            self.format_buffered();
        }
        w.write_all(&self.out)?;
        self.out.clear();
        Ok(())
    }

    /// Formats and returns the buffered text (tests, describe).
    pub fn into_string(mut self) -> String {
        let mut buf = Vec::new();
        let _ = self.flush(&mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }

    fn format_buffered(&mut self) {
        let lines = std::mem::take(&mut self.lines);
        let mut widths = Vec::new();
        self.format(&lines, 0, lines.len(), &mut widths);
    }

    fn format(&mut self, lines: &[Vec<String>], line0: usize, line1: usize, widths: &mut Vec<usize>) {
        let column = widths.len();
        let mut start = line0;
        let mut this = line0;
        while this < line1 {
            if column + 1 >= lines[this].len() {
                this += 1;
                continue;
            }
            self.write_lines(lines, start, this, widths);
            start = this;
            let mut width = self.min_width;
            while this < line1 && column + 1 < lines[this].len() {
                width = width.max(lines[this][column].chars().count() + self.padding);
                this += 1;
            }
            width = self.remembered(column, width);
            widths.push(width);
            self.format(lines, start, this, widths);
            widths.pop();
            start = this;
        }
        self.write_lines(lines, start, line1, widths);
    }

    fn remembered(&mut self, column: usize, width: usize) -> usize {
        if !self.remember {
            return width;
        }
        if self.max_widths.len() <= column {
            self.max_widths.resize(column + 1, 0);
        }
        let w = self.max_widths[column].max(width);
        self.max_widths[column] = w;
        w
    }

    fn write_lines(&mut self, lines: &[Vec<String>], from: usize, to: usize, widths: &[usize]) {
        for line in &lines[from..to] {
            for (j, cell) in line.iter().enumerate() {
                self.out.extend_from_slice(cell.as_bytes());
                if j < widths.len() {
                    let pad = widths[j].saturating_sub(cell.chars().count());
                    self.out.extend(std::iter::repeat_n(b' ', pad));
                }
            }
            self.out.push(b'\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns_like_kubectl() {
        let mut tw = TabWriter::kubectl();
        tw.write_str("NAME\tREADY\tAGE\nnginx-deployment\t0/2\t5m\n");
        assert_eq!(tw.into_string(), "NAME               READY   AGE\nnginx-deployment   0/2     5m\n");
    }

    #[test]
    fn min_width_applies() {
        let mut tw = TabWriter::kubectl();
        tw.write_str("A\tB\nx\ty\n");
        assert_eq!(tw.into_string(), "A     B\nx     y\n");
    }

    #[test]
    fn blocks_end_at_lines_with_fewer_cells() {
        let mut tw = TabWriter::describe();
        tw.write_str("Name:\tx\nLabels:\tapp=y\nContainers:\n  nginx:\n    Image:\tnginx\n    Port:\t80/TCP\n");
        assert_eq!(
            tw.into_string(),
            "Name:    x\nLabels:  app=y\nContainers:\n  nginx:\n    Image:  nginx\n    Port:   80/TCP\n"
        );
    }

    #[test]
    fn remembers_widths_across_flushes() {
        let mut tw = TabWriter::kubectl();
        let mut out = Vec::new();
        tw.write_str("NAME\tAGE\nlong-name-here\t1s\n");
        tw.flush(&mut out).unwrap();
        tw.write_str("a\t2s\n");
        tw.flush(&mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "NAME             AGE\nlong-name-here   1s\na                2s\n");
    }

    #[test]
    fn empty_trailing_cells_and_no_final_newline() {
        let mut tw = TabWriter::describe();
        tw.write_str("Type\tStatus\n  Ready\tTrue \n");
        assert_eq!(tw.into_string(), "Type     Status\n  Ready  True \n");
        let mut tw = TabWriter::kubectl();
        tw.write_str("a\tb");
        assert_eq!(tw.into_string(), "a     b");
    }
}
