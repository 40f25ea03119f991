//! Images the local stack's tools and tests upload: real PNGs that the local AWS
//! endpoint's Rekognition reads (`local/moto_server.py`, `screen_images_from_png_text`).

/// A real 80 × 80 PNG with, when given, the `tEXt` chunk `local-screening` that the
/// local Rekognition answers from (`labels=Explicit Nudity,Violence;faces=34,9`).
pub fn png(screening: Option<&str>) -> Vec<u8> {
    const SIDE: u32 = 80;
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let mut header = Vec::new();
    header.extend_from_slice(&SIDE.to_be_bytes());
    header.extend_from_slice(&SIDE.to_be_bytes());
    // 8-bit greyscale, deflate, no filter method variants, no interlace.
    header.extend_from_slice(&[8, 0, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &header);
    if let Some(text) = screening {
        let mut body = b"local-screening\0".to_vec();
        body.extend_from_slice(text.as_bytes());
        chunk(&mut png, b"tEXt", &body);
    }
    // Each row: filter byte 0, then the grey pixels; one stored (uncompressed) deflate
    // block inside a zlib stream.
    let raw: Vec<u8> = (0..SIDE)
        .flat_map(|_| std::iter::once(0u8).chain(std::iter::repeat_n(0x80, SIDE as usize)))
        .collect();
    let mut z = vec![0x78, 0x01, 0x01];
    z.extend_from_slice(&(raw.len() as u16).to_le_bytes());
    z.extend_from_slice(&(!(raw.len() as u16)).to_le_bytes());
    z.extend_from_slice(&raw);
    z.extend_from_slice(&adler32(&raw).to_be_bytes());
    chunk(&mut png, b"IDAT", &z);
    chunk(&mut png, b"IEND", &[]);
    png
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}
