//! Reading an export: one CSV file per table, each with a header row naming its columns in any
//! order. Blank values are absent ones; surrounding spaces are dropped.

use super::validate::Problem;
use csv::StringRecord;
use std::collections::HashMap;
use std::path::Path;

/// One file of the export, as read.
pub struct Table {
    pub file: &'static str,
    columns: HashMap<String, usize>,
    pub rows: Vec<Row>,
}

pub struct Row {
    /// Its line in the file (the header is line 1).
    pub line: u64,
    record: StringRecord,
}

impl Table {
    /// Reads `dir/file`, checking that it has the `required` columns. A missing optional
    /// file is an empty table.
    pub fn read(
        dir: &Path,
        file: &'static str,
        required: &[&str],
        optional_file: bool,
        problems: &mut Vec<Problem>,
    ) -> Table {
        let mut table = Table {
            file,
            columns: HashMap::new(),
            rows: Vec::new(),
        };
        let path = dir.join(file);
        if optional_file && !path.exists() {
            return table;
        }
        let mut reader = match csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_path(&path)
        {
            Ok(reader) => reader,
            Err(error) => {
                problems.push(Problem::new(file, 0, format!("cannot be read: {error}")));
                return table;
            }
        };
        match reader.headers() {
            Ok(header) => {
                table.columns = header
                    .iter()
                    .enumerate()
                    .map(|(i, name)| (name.to_string(), i))
                    .collect()
            }
            Err(error) => {
                problems.push(Problem::new(file, 1, format!("has no header: {error}")));
                return table;
            }
        }
        let missing: Vec<&str> = required
            .iter()
            .filter(|column| !table.columns.contains_key(**column))
            .copied()
            .collect();
        if !missing.is_empty() {
            problems.push(Problem::new(
                file,
                1,
                format!("has no column {}", missing.join(", ")),
            ));
            return table;
        }
        for record in reader.records() {
            match record {
                Ok(record) => table.rows.push(Row {
                    line: record.position().map_or(0, |p| p.line()),
                    record,
                }),
                Err(error) => {
                    let line = error.position().map_or(0, |p| p.line());
                    problems.push(Problem::new(file, line, error.to_string()));
                }
            }
        }
        table
    }

    /// The row's value in `column`, if it has one.
    pub fn get<'a>(&self, row: &'a Row, column: &str) -> Option<&'a str> {
        self.columns
            .get(column)
            .and_then(|&i| row.record.get(i))
            .filter(|value| !value.is_empty())
    }
}
