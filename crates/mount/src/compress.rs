//! Content negotiation for compression, shared by the embedded assets (compressed once, when
//! registered) and the framework's response compression (dynamic responses, per request).

use std::io::Write;

use actix_web::HttpMessage;
use actix_web::http::header::{AcceptEncoding, ContentEncoding, Encoding};
use actix_web::web::Bytes;

/// Bodies shorter than this are sent as they are: compressing them saves a few bytes and
/// costs a compressor's set-up.
pub const MIN_COMPRESSED_LEN: usize = 1024;

const SUPPORTED: [Encoding; 3] = [
    Encoding::Known(ContentEncoding::Brotli),
    Encoding::Known(ContentEncoding::Gzip),
    Encoding::Known(ContentEncoding::Identity),
];

/// The encoding to answer `req` with: brotli, else gzip, when its `Accept-Encoding` accepts
/// them (a `q=0` refuses); identity otherwise.
pub fn negotiate(req: &impl HttpMessage) -> ContentEncoding {
    let Some(accept) = req.get_header::<AcceptEncoding>() else {
        return ContentEncoding::Identity;
    };
    match accept.negotiate(SUPPORTED.iter()) {
        Some(Encoding::Known(encoding)) => encoding,
        _ => ContentEncoding::Identity,
    }
}

/// Whether a body of `content_type` is worth compressing: text, JSON, JavaScript, XML and
/// SVG (images, fonts and archives are compressed already).
pub fn compressible(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.starts_with("text/")
        || matches!(
            essence,
            "application/json"
                | "application/javascript"
                | "application/xml"
                | "application/manifest+json"
                | "application/problem+json"
                | "image/svg+xml"
        )
}

/// How hard to compress: at the best settings once per embedded file, or fast per response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effort {
    /// Brotli quality 11 with a window that spans the body (at most 4 MiB), gzip level 9:
    /// slow, for work done once.
    Best,
    /// Brotli quality 1, gzip level 1: for a response compressed as it is sent
    /// (docs/benchmarks.md has the sizes and times that chose them).
    Fast,
}

/// `bytes` in `encoding` (brotli or gzip; `None` for any other), compressed in memory on the
/// calling thread.
pub fn encode(bytes: &[u8], encoding: ContentEncoding, effort: Effort) -> Option<Vec<u8>> {
    match encoding {
        ContentEncoding::Brotli => Some(brotli_bytes(bytes, effort)),
        ContentEncoding::Gzip => Some(gzip_bytes(bytes, effort)),
        _ => None,
    }
}

/// The brotli and gzip forms of an embedded file, made once when it is registered; only
/// those smaller than the file are kept.
#[derive(Debug, Clone, Default)]
pub(crate) struct Precompressed {
    brotli: Option<Bytes>,
    gzip: Option<Bytes>,
}

impl Precompressed {
    /// Compresses `bytes` (at the best settings: this runs once) when `content_type` is
    /// [`compressible`] and the file is at least [`MIN_COMPRESSED_LEN`] long.
    pub(crate) fn of(bytes: &[u8], content_type: &str) -> Precompressed {
        if bytes.len() < MIN_COMPRESSED_LEN || !compressible(content_type) {
            return Precompressed::default();
        }
        let smaller = |encoding| {
            encode(bytes, encoding, Effort::Best)
                .filter(|encoded| encoded.len() < bytes.len())
                .map(Bytes::from)
        };
        Precompressed {
            brotli: smaller(ContentEncoding::Brotli),
            gzip: smaller(ContentEncoding::Gzip),
        }
    }

    /// The form to send for `encoding`, if there is one.
    pub(crate) fn get(&self, encoding: ContentEncoding) -> Option<&Bytes> {
        match encoding {
            ContentEncoding::Brotli => self.brotli.as_ref(),
            ContentEncoding::Gzip => self.gzip.as_ref(),
            _ => None,
        }
    }

    /// Whether there is any compressed form (the response then varies by `Accept-Encoding`).
    pub(crate) fn any(&self) -> bool {
        self.brotli.is_some() || self.gzip.is_some()
    }
}

fn brotli_bytes(bytes: &[u8], effort: Effort) -> Vec<u8> {
    let mut params = brotli::enc::BrotliEncoderParams::default();
    (params.quality, params.lgwin) = match effort {
        Effort::Best => (11, spanning_window(bytes.len())),
        Effort::Fast => (FAST_BROTLI_QUALITY, FAST_BROTLI_WINDOW),
    };
    params.size_hint = bytes.len();
    let mut out = Vec::with_capacity(bytes.len() / 3);
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params).expect("compressing into memory cannot fail");
    out
}

/// The smallest brotli window (log2, 10 to 22: 22 past 4 MiB) that spans `len` bytes: a
/// window of `lgwin` holds 2^lgwin − 16 bytes, and a larger one finds no more matches.
/// Quality 11 allocates about 8 bytes per window byte for its match finder, each time: the
/// 4 MiB window cost 33–45 MiB per embedded file of a few KiB, which the allocator kept as
/// resident memory after start-up; a spanning window costs 1–5 MiB and compresses as well.
fn spanning_window(len: usize) -> i32 {
    (10..22).find(|lgwin| (1usize << lgwin) - 16 >= len).unwrap_or(22)
}

/// The per-response brotli quality.
const FAST_BROTLI_QUALITY: i32 = 1;

/// The per-response gzip level.
const FAST_GZIP_LEVEL: u32 = 1;

/// The per-response brotli window: 64 KiB (log2). At quality 1 a 2 KiB body compressed
/// faster with it than with a window fitted to the body (8.3 µs against 9.8 µs for 4 KiB,
/// 16 µs for 1 KiB), and a large body does not allocate the 4 MiB of the default window.
const FAST_BROTLI_WINDOW: i32 = 16;

fn gzip_bytes(bytes: &[u8], effort: Effort) -> Vec<u8> {
    match effort {
        Effort::Best => {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 3), flate2::Compression::best());
            encoder.write_all(bytes).expect("compressing into memory cannot fail");
            encoder.finish().expect("compressing into memory cannot fail")
        }
        Effort::Fast => FAST_GZIP.with_borrow_mut(|gzip| {
            let gzip = gzip.get_or_insert_with(|| {
                flate2::Compress::new_gzip(flate2::Compression::new(FAST_GZIP_LEVEL), GZIP_WINDOW_BITS)
            });
            gzip.reset();
            let mut out = Vec::with_capacity(bytes.len() / 3 + 32);
            loop {
                let consumed = gzip.total_in() as usize;
                match gzip
                    .compress_vec(&bytes[consumed..], &mut out, flate2::FlushCompress::Finish)
                    .expect("compressing into memory cannot fail")
                {
                    flate2::Status::StreamEnd => return out,
                    _ => out.reserve(out.capacity().max(64)),
                }
            }
        }),
    }
}

/// zlib's default window (32 KiB).
const GZIP_WINDOW_BITS: u8 = 15;

thread_local! {
    /// The per-response gzip compressor of this thread, reset between responses: making one
    /// allocates and clears its window and hash tables, which for a 2 KiB JSON body took
    /// longer than compressing it (12.7 µs made fresh, 6.8 µs reset; docs/benchmarks.md).
    static FAST_GZIP: std::cell::RefCell<Option<flate2::Compress>> = const { std::cell::RefCell::new(None) };
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn brotli_is_preferred_and_q0_refuses() {
        let with = |value: &str| {
            negotiate(
                &TestRequest::get()
                    .insert_header(("accept-encoding", value))
                    .to_srv_request(),
            )
        };
        assert_eq!(with("gzip, deflate, br, zstd"), ContentEncoding::Brotli);
        assert_eq!(with("gzip"), ContentEncoding::Gzip);
        assert_eq!(with("br;q=0, gzip"), ContentEncoding::Gzip);
        assert_eq!(with("identity"), ContentEncoding::Identity);
        assert_eq!(with("*;q=0"), ContentEncoding::Identity);
        assert_eq!(
            negotiate(&TestRequest::get().to_srv_request()),
            ContentEncoding::Identity
        );
    }

    #[test]
    fn only_large_textual_files_are_precompressed() {
        let js = "export const x = 1;\n".repeat(200);
        let forms = Precompressed::of(js.as_bytes(), "text/javascript; charset=utf-8");
        let mut unzipped = String::new();
        flate2::read::GzDecoder::new(&forms.get(ContentEncoding::Gzip).unwrap()[..])
            .read_to_string(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped, js);
        let mut unbrotlied = String::new();
        brotli::Decompressor::new(&forms.get(ContentEncoding::Brotli).unwrap()[..], 4096)
            .read_to_string(&mut unbrotlied)
            .unwrap();
        assert_eq!(unbrotlied, js);
        assert!(!Precompressed::of(b"tiny", "text/css").any());
        assert!(!Precompressed::of(&[0u8; 4096], "image/png").any());
        assert!(compressible("application/json") && compressible("image/svg+xml") && !compressible("font/woff2"));
    }

    #[test]
    fn the_best_brotli_window_spans_the_body_and_compresses_as_well_as_4_mib() {
        for (len, lgwin) in [
            (0, 10),
            (1008, 10),
            (1009, 11),
            (39_763, 16),
            (65_520, 16),
            (65_521, 17),
            (1 << 30, 22),
        ] {
            assert_eq!(spanning_window(len), lgwin, "{len} bytes");
        }
        let css = duet_ui::RUNTIME_CSS.as_bytes();
        let mut params = brotli::enc::BrotliEncoderParams::default();
        (params.quality, params.lgwin) = (11, 22);
        let mut wide = Vec::new();
        brotli::BrotliCompress(&mut &css[..], &mut wide, &params).unwrap();
        let spanning = encode(css, ContentEncoding::Brotli, Effort::Best).unwrap();
        assert!(spanning.len() <= wide.len(), "{} > {}", spanning.len(), wide.len());
    }

    #[test]
    fn fast_encodings_decode_to_the_body() {
        let json = r#"{"id":1,"status":"paid","total":"10.00"},"#.repeat(100);
        let brotli = encode(json.as_bytes(), ContentEncoding::Brotli, Effort::Fast).unwrap();
        assert!(brotli.len() * 5 < json.len(), "{} of {}", brotli.len(), json.len());
        let mut unbrotlied = String::new();
        brotli::Decompressor::new(&brotli[..], 4096)
            .read_to_string(&mut unbrotlied)
            .unwrap();
        assert_eq!(unbrotlied, json);
        let gzip = encode(json.as_bytes(), ContentEncoding::Gzip, Effort::Fast).unwrap();
        let mut unzipped = String::new();
        flate2::read::GzDecoder::new(&gzip[..])
            .read_to_string(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped, json);
        assert_eq!(encode(b"{}", ContentEncoding::Identity, Effort::Fast), None);
    }

    #[test]
    fn the_reused_gzip_compressor_starts_afresh_each_time() {
        let gunzip = |gzip: &[u8]| {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(gzip).read_to_end(&mut out).unwrap();
            out
        };
        // Incompressible bytes outgrow the output's first allocation.
        let noise: Vec<u8> = (0..100_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let bodies = [b"{\"a\":1}".repeat(300), noise, b"[]".repeat(600)];
        for body in bodies.iter().chain(&bodies) {
            let gzip = encode(body, ContentEncoding::Gzip, Effort::Fast).unwrap();
            assert_eq!(gunzip(&gzip), *body);
        }
    }
}
