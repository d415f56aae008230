//! Case photos (issue 5): only JPEG and PNG are taken, and their metadata — EXIF with its
//! GPS position, XMP, IPTC, comments, PNG text chunks — is stripped before the photo is
//! kept, so nobody can download where a reporter stood. The image data itself is copied
//! byte for byte. Photos come from phones and the Internet: these parsers take untrusted
//! bytes, are bounded by the input, and are fuzzed (`fuzz/`).

/// The largest photo taken, in bytes (a phone photo is 2–6 MB).
pub const MAX_PHOTO_BYTES: usize = 10 * 1024 * 1024;

/// The kinds of image taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageKind {
    Jpeg,
    Png,
}

impl ImageKind {
    pub fn content_type(self) -> &'static str {
        match self {
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Png => "image/png",
        }
    }

    /// The kind a file's first bytes say it is.
    pub fn sniff(bytes: &[u8]) -> Option<ImageKind> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageKind::Jpeg)
        } else if bytes.starts_with(PNG_SIGNATURE) {
            Some(ImageKind::Png)
        } else {
            None
        }
    }
}

/// A kept photo's description (its bytes are read on their own).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PhotoMeta {
    /// Given by the store; 0 before.
    pub id: u64,
    pub case_id: u64,
    pub content_type: String,
    pub size_bytes: u64,
    /// Of the kept (stripped) bytes, hex.
    pub sha256: String,
    pub uploaded_by: String,
    pub uploaded_at: chrono::DateTime<chrono::Utc>,
}

/// The SHA-256 of `bytes`, lower-case hex: a kept photo's fingerprint.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Why a photo was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    #[error("the photo is {0} bytes; at most {MAX_PHOTO_BYTES} are taken")]
    TooLarge(usize),
    #[error("the file is not a JPEG or PNG image")]
    NotAnImage,
    #[error("the image is damaged: {0}")]
    Damaged(&'static str),
}

const PNG_SIGNATURE: &[u8] = &[0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n'];

/// The photo without its metadata, and its kind.
pub fn strip_metadata(bytes: &[u8]) -> Result<(ImageKind, Vec<u8>), PhotoError> {
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(PhotoError::TooLarge(bytes.len()));
    }
    match ImageKind::sniff(bytes) {
        Some(ImageKind::Jpeg) => Ok((ImageKind::Jpeg, strip_jpeg(bytes)?)),
        Some(ImageKind::Png) => Ok((ImageKind::Png, strip_png(bytes)?)),
        None => Err(PhotoError::NotAnImage),
    }
}

/// JPEG: every segment is kept but APP1 (EXIF, XMP), APP3–APP13 (IPTC among them) and
/// comments; APP0 (JFIF), APP2 (the colour profile) and APP14 (Adobe's colour transform)
/// stay, as they change how the image looks. From the start of scan on, the data is
/// copied as it is.
fn strip_jpeg(bytes: &[u8]) -> Result<Vec<u8>, PhotoError> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..2]);
    let mut at = 2;
    loop {
        // Fill bytes (0xFF) may stand before a marker.
        while bytes.get(at) == Some(&0xFF) && bytes.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (bytes.get(at), bytes.get(at + 1)) else {
            return Err(PhotoError::Damaged(
                "a segment does not start with a marker",
            ));
        };
        match marker {
            // End of image before any scan.
            0xD9 => {
                out.extend_from_slice(&bytes[at..at + 2]);
                return Ok(out);
            }
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => {
                out.extend_from_slice(&bytes[at..at + 2]);
                at += 2;
                continue;
            }
            _ => {}
        }
        let length = match (bytes.get(at + 2), bytes.get(at + 3)) {
            (Some(&high), Some(&low)) => usize::from(high) << 8 | usize::from(low),
            _ => return Err(PhotoError::Damaged("a segment's length is cut off")),
        };
        if length < 2 || at + 2 + length > bytes.len() {
            return Err(PhotoError::Damaged(
                "a segment runs past the end of the file",
            ));
        }
        let end = at + 2 + length;
        let metadata = matches!(marker, 0xE1 | 0xE3..=0xED | 0xFE);
        if !metadata {
            out.extend_from_slice(&bytes[at..end]);
        }
        at = end;
        // Start of scan: the rest is image data (and later markers inside it).
        if marker == 0xDA {
            out.extend_from_slice(&bytes[at..]);
            return Ok(out);
        }
    }
}

/// PNG: every chunk is kept but eXIf and the text and time chunks (tEXt, zTXt, iTXt,
/// tIME); chunks after IEND are dropped.
fn strip_png(bytes: &[u8]) -> Result<Vec<u8>, PhotoError> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(PNG_SIGNATURE);
    let mut at = PNG_SIGNATURE.len();
    loop {
        let header = bytes
            .get(at..at + 8)
            .ok_or(PhotoError::Damaged("a chunk's header is cut off"))?;
        let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let kind = &header[4..8];
        let end = at
            .checked_add(12)
            .and_then(|end| end.checked_add(length))
            .filter(|end| *end <= bytes.len())
            .ok_or(PhotoError::Damaged("a chunk runs past the end of the file"))?;
        let metadata = matches!(kind, b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt" | b"tIME");
        if !metadata {
            out.extend_from_slice(&bytes[at..end]);
        }
        at = end;
        if kind == b"IEND" {
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small JPEG's segments: SOI, APP0 (JFIF), APP1 (EXIF with a GPS tag), a comment,
    /// a quantisation table, SOS, scan data, EOI.
    fn jpeg() -> Vec<u8> {
        let mut bytes = vec![0xFF, 0xD8];
        let segment = |marker: u8, payload: &[u8]| {
            let mut out = vec![0xFF, marker];
            out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
            out.extend_from_slice(payload);
            out
        };
        bytes.extend(segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
        bytes.extend(segment(
            0xE1,
            b"Exif\0\0GPSLatitude 32.39 GPSLongitude 119.43",
        ));
        bytes.extend(segment(0xFE, b"taken at home"));
        bytes.extend(segment(0xDB, &[0; 65]));
        bytes.extend(segment(0xDA, &[1, 1, 0, 0, 63, 0]));
        bytes.extend_from_slice(&[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56]);
        bytes.extend_from_slice(&[0xFF, 0xD9]);
        bytes
    }

    fn png() -> Vec<u8> {
        let chunk = |kind: &[u8], data: &[u8]| {
            let mut out = (data.len() as u32).to_be_bytes().to_vec();
            out.extend_from_slice(kind);
            out.extend_from_slice(data);
            out.extend_from_slice(&[0, 0, 0, 0]);
            out
        };
        let mut bytes = PNG_SIGNATURE.to_vec();
        bytes.extend(chunk(b"IHDR", &[0; 13]));
        bytes.extend(chunk(b"eXIf", b"MM\0*GPS 32.39,119.43"));
        bytes.extend(chunk(b"tEXt", b"Location\0home"));
        bytes.extend(chunk(b"IDAT", &[1, 2, 3]));
        bytes.extend(chunk(b"IEND", &[]));
        bytes
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack
            .windows(needle.len())
            .any(|window| window == needle)
    }

    #[test]
    fn a_jpeg_loses_its_exif_and_comment_and_keeps_its_image() {
        let original = jpeg();
        let (kind, stripped) = strip_metadata(&original).unwrap();
        assert_eq!(kind, ImageKind::Jpeg);
        assert!(!contains(&stripped, b"GPS") && !contains(&stripped, b"taken at home"));
        assert!(contains(&stripped, b"JFIF"));
        // The scan data, restart marker included, is untouched.
        assert!(stripped.ends_with(&[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xD9]));
        assert_eq!(
            strip_metadata(&stripped).unwrap().1,
            stripped,
            "stripping is idempotent"
        );
    }

    #[test]
    fn a_png_loses_its_exif_and_text_chunks() {
        let (kind, stripped) = strip_metadata(&png()).unwrap();
        assert_eq!(kind, ImageKind::Png);
        assert!(!contains(&stripped, b"GPS") && !contains(&stripped, b"home"));
        assert!(
            contains(&stripped, b"IDAT")
                && stripped.ends_with(&[b'I', b'E', b'N', b'D', 0, 0, 0, 0])
        );
    }

    proptest::proptest! {
        /// Damaged photos of every kind: never a panic; what is kept strips to itself.
        #[test]
        fn any_bytes_are_refused_or_kept_idempotently(
            cut in 0usize..200,
            flips in proptest::collection::vec((0usize..200, proptest::num::u8::ANY), 0..6),
            png_based in proptest::bool::ANY,
            tail in proptest::collection::vec(proptest::num::u8::ANY, 0..40),
        ) {
            let mut bytes = if png_based { png() } else { jpeg() };
            for (at, value) in flips {
                if let Some(byte) = bytes.get_mut(at) {
                    *byte = value;
                }
            }
            bytes.truncate(cut.max(2));
            bytes.extend(tail);
            if let Ok((kind, kept)) = strip_metadata(&bytes) {
                proptest::prop_assert!(kept.len() <= bytes.len());
                proptest::prop_assert_eq!(ImageKind::sniff(&kept), Some(kind));
                proptest::prop_assert_eq!(strip_metadata(&kept).unwrap(), (kind, kept));
            }
        }
    }

    #[test]
    fn other_files_cut_files_and_large_files_are_refused() {
        assert_eq!(
            strip_metadata(b"GIF89a....").unwrap_err(),
            PhotoError::NotAnImage
        );
        let cut = &jpeg()[..30];
        assert!(matches!(strip_metadata(cut), Err(PhotoError::Damaged(_))));
        let cut = &png()[..40];
        assert!(matches!(strip_metadata(cut), Err(PhotoError::Damaged(_))));
        let mut big = jpeg();
        big.resize(MAX_PHOTO_BYTES + 1, 0);
        assert_eq!(
            strip_metadata(&big).unwrap_err(),
            PhotoError::TooLarge(MAX_PHOTO_BYTES + 1)
        );
    }
}
