//! Department files into dataset batches (issue 4, ingestion): a file of a catalogued
//! resource — CSV in UTF-8, GBK or GB18030, NDJSON, or an XLSX workbook — streamed, its
//! rows checked by the domain (`dataset::Layout`) and written in chunks through the
//! store's `DatasetStore` as one batch.
//!
//! Both ways in use it: `huimin import dataset RESOURCE FILE`, and the API's batch upload,
//! which spools the request body to a file first. Depends only on the domain.

mod dataset;
mod xlsx;

pub use dataset::{DatasetImport, DatasetOutcome, import_dataset};

use huimin_domain::storage::StorageError;

/// Why a file could not be imported as a batch. Rows with problems are not errors: they
/// are reported, and the batch goes on without them.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The resource code is malformed, or names no resource of the catalogue.
    #[error("{0}")]
    UnknownResource(String),
    /// The file cannot be read in its format at all (not a workbook, an unreadable header).
    #[error("{message}")]
    Unreadable { message: String, message_zh: String },
    /// The header does not match the resource's items.
    #[error("{message}")]
    Header { message: String, message_zh: String },
    /// The batch id was used before for another resource, mode or content.
    #[error("{0}")]
    Conflict(String),
    /// A full load without one valid row: it would have deleted every record, so the batch
    /// was left unfinished and nothing was deleted.
    #[error(
        "the file has no valid row: as a full load it would delete every record of {resource}, \
         so batch {batch} was not finished and nothing was deleted"
    )]
    NoValidRow { resource: String, batch: String },
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("{doing}: {source}")]
    Io {
        doing: String,
        #[source]
        source: std::io::Error,
    },
}

impl IngestError {
    pub(crate) fn io(doing: impl Into<String>, source: std::io::Error) -> IngestError {
        IngestError::Io {
            doing: doing.into(),
            source,
        }
    }

    pub(crate) fn report(source: std::io::Error) -> IngestError {
        IngestError::io("writing the report", source)
    }

    /// The message in Chinese, for the API's problem documents and the console.
    pub fn message_zh(&self) -> String {
        match self {
            IngestError::Unreadable { message_zh, .. } | IngestError::Header { message_zh, .. } => {
                message_zh.clone()
            }
            IngestError::UnknownResource(_) => "目录中没有该资源".to_owned(),
            IngestError::Conflict(_) => "该批次号已用于其他资源、模式或内容".to_owned(),
            IngestError::NoValidRow { .. } => {
                "文件中没有有效行：全量加载将删除该资源的全部记录，因此批次未完成，未删除任何记录"
                    .to_owned()
            }
            IngestError::Storage(_) | IngestError::Io { .. } => "导入失败，请稍后重试".to_owned(),
        }
    }
}

/// How a department file is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum FileFormat {
    /// Comma-separated values with a header row of item names or titles.
    Csv,
    /// One JSON object per line, keyed by item names or titles.
    Ndjson,
    /// An XLSX workbook: the first worksheet, its first row the header.
    Xlsx,
}

impl FileFormat {
    /// The format named `text` (`csv`, `ndjson`, `xlsx`), any case.
    pub fn parse(text: &str) -> Option<FileFormat> {
        match text.trim().to_ascii_lowercase().as_str() {
            "csv" => Some(FileFormat::Csv),
            "ndjson" | "jsonl" => Some(FileFormat::Ndjson),
            "xlsx" => Some(FileFormat::Xlsx),
            _ => None,
        }
    }

    /// The format a file name's extension suggests.
    pub fn from_file_name(name: &str) -> Option<FileFormat> {
        FileFormat::parse(name.rsplit_once('.')?.1)
    }
}

/// The character encoding of a text file (CSV, NDJSON); an XLSX workbook is always UTF-8
/// inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum TextEncoding {
    /// UTF-8 when the file is valid UTF-8, otherwise GB18030 (a superset of GBK).
    Auto,
    Utf8,
    Gbk,
    Gb18030,
}

impl TextEncoding {
    /// The encoding named `text` (`auto`, `utf8` or `utf-8`, `gbk`, `gb18030`), any case.
    pub fn parse(text: &str) -> Option<TextEncoding> {
        match text.trim().to_ascii_lowercase().as_str() {
            "auto" => Some(TextEncoding::Auto),
            "utf8" | "utf-8" => Some(TextEncoding::Utf8),
            "gbk" => Some(TextEncoding::Gbk),
            "gb18030" => Some(TextEncoding::Gb18030),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_encodings_are_named_as_users_write_them() {
        assert_eq!(FileFormat::parse(" XLSX "), Some(FileFormat::Xlsx));
        assert_eq!(FileFormat::parse("jsonl"), Some(FileFormat::Ndjson));
        assert_eq!(FileFormat::parse("xls"), None);
        assert_eq!(
            FileFormat::from_file_name("社保缴费.2026.csv"),
            Some(FileFormat::Csv)
        );
        assert_eq!(FileFormat::from_file_name("no-extension"), None);
        assert_eq!(TextEncoding::parse("UTF-8"), Some(TextEncoding::Utf8));
        assert_eq!(TextEncoding::parse("GB18030"), Some(TextEncoding::Gb18030));
        assert_eq!(TextEncoding::parse("big5"), None);
    }
}
