//! XLSX workbooks: the first worksheet, read cell by cell with calamine's streaming
//! reader (never the whole sheet in memory) on a thread of its own, which owns the
//! workbook and hands rows over a bounded channel.
//!
//! Cells become the text a CSV export would hold: strings as they are; whole numbers
//! without a decimal point; dates (Excel's day serials, in the 1900 or 1904 system) as
//! `YYYY-MM-DD`, with the time when there is one. An identity number typed as a number
//! has lost digits to Excel's floating point before it reaches us; it arrives as the
//! digits Excel kept and the row checks refuse it like any other wrong number. A cell
//! holding an Excel error (`#N/A`, `#VALUE!` …) makes its row unreadable.

use crate::IngestError;
use calamine::{DataRef, Reader};
use huimin_domain::dataset::{CellProblem, RowProblem};
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// One row of a sheet: its cells, or why it cannot be read.
pub(crate) type SheetRow = (u64, Result<Vec<String>, Box<RowProblem>>);

/// Rows handed over at a time, at most, ahead of the reader.
const AHEAD: usize = 1024;

/// The first worksheet of the workbook at `path`: its header (the first row) and a
/// receiver of the rows after it, numbered as Excel numbers them (the header is row 1
/// when the sheet starts at the top).
pub(crate) fn open(path: &Path) -> Result<(Vec<String>, Receiver<SheetRow>), IngestError> {
    let mut workbook: calamine::Xlsx<_> = calamine::open_workbook(path).map_err(|error| {
        unreadable(
            format!("the file is not a readable XLSX workbook: {error}"),
            "文件不是可读取的 XLSX 工作簿",
        )
    })?;
    let Some(sheet) = workbook.sheet_names().into_iter().next() else {
        return Err(unreadable(
            "the workbook has no worksheet".to_owned(),
            "工作簿中没有工作表",
        ));
    };
    let (sender, receiver) = sync_channel::<SheetRow>(AHEAD);
    let (header_sender, header_receiver) = sync_channel::<Result<Vec<String>, IngestError>>(1);
    std::thread::Builder::new()
        .name("xlsx-reader".into())
        .spawn(move || read_sheet(&mut workbook, &sheet, &header_sender, &sender))
        .map_err(|error| IngestError::io("starting the worksheet reader", error))?;
    let header = header_receiver.recv().map_err(|_| {
        unreadable(
            "the worksheet reader stopped before the header".to_owned(),
            "读取表头前工作表读取已中止",
        )
    })??;
    Ok((header, receiver))
}

fn unreadable(message: String, message_zh: &str) -> IngestError {
    IngestError::Unreadable {
        message,
        message_zh: message_zh.to_owned(),
    }
}

/// Reads `sheet` row by row: the first row to `header`, the others to `rows`, until the
/// sheet ends or nobody takes rows any more.
fn read_sheet<RS: std::io::Read + std::io::Seek>(
    workbook: &mut calamine::Xlsx<RS>,
    sheet: &str,
    header: &SyncSender<Result<Vec<String>, IngestError>>,
    rows: &SyncSender<SheetRow>,
) {
    let mut reader = match workbook.worksheet_cells_reader(sheet) {
        Ok(reader) => reader,
        Err(error) => {
            let _ = header.send(Err(unreadable(
                format!("the worksheet {sheet} cannot be read: {error}"),
                "无法读取工作表",
            )));
            return;
        }
    };
    // The row being gathered: its Excel number, its cells, and a cell error if one was met.
    let mut current: Option<(u64, Vec<String>, Option<String>)> = None;
    let mut header_sent = false;
    let mut emit = |row: (u64, Vec<String>, Option<String>)| -> bool {
        let (number, cells, error) = row;
        if !header_sent {
            header_sent = true;
            return header
                .send(match error {
                    None => Ok(cells),
                    Some(error) => Err(unreadable(
                        format!("the header row holds a spreadsheet error: {error}"),
                        "表头行含有表格错误值",
                    )),
                })
                .is_ok();
        }
        let row = match error {
            None => Ok(cells),
            Some(error) => Err(Box::new(RowProblem {
                row: number,
                problem: CellProblem::new(
                    "",
                    "",
                    "unreadable_row",
                    format!("the row holds a spreadsheet error: {error}"),
                    format!("该行含有表格错误值：{error}"),
                ),
            })),
        };
        rows.send((number, row)).is_ok()
    };
    loop {
        let cell = match reader.next_cell() {
            Ok(Some(cell)) => cell,
            Ok(None) => break,
            Err(error) => {
                // A broken sheet ends with one unreadable row after the last good one.
                let number = current.as_ref().map_or(1, |(number, _, _)| number + 1);
                if let Some(row) = current.take()
                    && !emit(row)
                {
                    return;
                }
                if !header_sent {
                    let _ = header.send(Err(unreadable(
                        format!("the worksheet {sheet} cannot be read: {error}"),
                        "无法读取工作表",
                    )));
                    return;
                }
                let problem = Box::new(RowProblem {
                    row: number,
                    problem: CellProblem::new(
                        "",
                        "",
                        "unreadable_row",
                        format!("the worksheet cannot be read from here on: {error}"),
                        "工作表自此无法读取".to_owned(),
                    ),
                });
                let _ = rows.send((number, Err(problem)));
                return;
            }
        };
        let (row, column) = cell.get_position();
        let number = u64::from(row) + 1;
        if current.as_ref().is_some_and(|(at, _, _)| *at != number)
            && let Some(finished) = current.take()
            && !emit(finished)
        {
            return;
        }
        let (_, cells, error) = current.get_or_insert_with(|| (number, Vec::new(), None));
        let column = column as usize;
        if cells.len() <= column {
            cells.resize(column + 1, String::new());
        }
        match cell_text(cell.get_value()) {
            Ok(text) => cells[column] = text,
            Err(message) => {
                error.get_or_insert(message);
            }
        }
    }
    if let Some(row) = current.take() {
        emit(row);
    }
    if !header_sent {
        let _ = header.send(Err(unreadable(
            format!("the worksheet {sheet} is empty"),
            "工作表为空",
        )));
    }
}

/// A cell's value as text, or the Excel error it holds.
fn cell_text(value: &DataRef<'_>) -> Result<String, String> {
    Ok(match value {
        DataRef::Empty => String::new(),
        DataRef::String(text) | DataRef::DateTimeIso(text) | DataRef::DurationIso(text) => {
            text.clone()
        }
        DataRef::SharedString(text) => (*text).to_owned(),
        DataRef::Int(number) => number.to_string(),
        DataRef::Float(number) => number_text(*number),
        DataRef::Bool(flag) => flag.to_string(),
        DataRef::DateTime(moment) if moment.is_datetime() => {
            let (year, month, day, hour, minute, second, _) = moment.to_ymd_hms_milli();
            if (hour, minute, second) == (0, 0, 0) {
                format!("{year:04}-{month:02}-{day:02}")
            } else {
                format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}")
            }
        }
        DataRef::DateTime(duration) => number_text(duration.as_f64()),
        DataRef::Error(error) => return Err(error.to_string()),
    })
}

/// A number as a CSV export would write it: whole numbers without a decimal point.
fn number_text(number: f64) -> String {
    if number.fract() == 0.0 && number.abs() < 1e15 {
        format!("{number:.0}")
    } else {
        number.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_a_csv_export_writes_them() {
        assert_eq!(number_text(5000.0), "5000");
        assert_eq!(number_text(-12.0), "-12");
        assert_eq!(number_text(416.67), "416.67");
        assert_eq!(cell_text(&DataRef::Int(42)).unwrap(), "42");
        assert_eq!(
            cell_text(&DataRef::SharedString("养老保险")).unwrap(),
            "养老保险"
        );
        assert!(cell_text(&DataRef::Error(calamine::CellErrorType::NA)).is_err());
    }

    #[test]
    fn excel_day_serials_read_as_dates() {
        use calamine::{ExcelDateTime, ExcelDateTimeType};
        // 2026-01-01 is day 46023 in the 1900 system and day 44561 in the 1904 one.
        let date = ExcelDateTime::new(46023.0, ExcelDateTimeType::DateTime, false);
        assert_eq!(cell_text(&DataRef::DateTime(date)).unwrap(), "2026-01-01");
        let date = ExcelDateTime::new(44561.0, ExcelDateTimeType::DateTime, true);
        assert_eq!(cell_text(&DataRef::DateTime(date)).unwrap(), "2026-01-01");
        let moment = ExcelDateTime::new(46023.5, ExcelDateTimeType::DateTime, false);
        assert_eq!(
            cell_text(&DataRef::DateTime(moment)).unwrap(),
            "2026-01-01 12:00:00"
        );
    }
}
