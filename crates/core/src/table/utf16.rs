//! UTF-16 lists (Excel's "Unicode text" saves UTF-16LE with a byte order mark) turned into
//! UTF-8 for the [`RowReader`](super::RowReader), in pieces of any size: the caller pushes the
//! bytes as they come and gets UTF-8 back, a character split between pieces included.

use super::TableError;

/// Which byte order a UTF-16 byte order mark says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    Little,
    Big,
}

/// A UTF-16 to UTF-8 decoder for one input.
#[derive(Debug)]
pub struct Utf16Decoder {
    order: Order,
    /// The byte order mark is still to be dropped.
    at_start: bool,
    /// An odd byte left from the last piece.
    odd: Option<u8>,
    /// A high surrogate waiting for its low half, and where it began.
    high: Option<(u16, u64)>,
    /// Bytes of the input taken so far.
    offset: u64,
}

impl Utf16Decoder {
    /// The decoder for an input that starts with `start`, when it starts with a UTF-16 byte
    /// order mark (FF FE little-endian, FE FF big-endian); `None` otherwise.
    pub fn sniff(start: &[u8]) -> Option<Utf16Decoder> {
        let order = match start {
            [0xFF, 0xFE, ..] => Order::Little,
            [0xFE, 0xFF, ..] => Order::Big,
            _ => return None,
        };
        Some(Utf16Decoder {
            order,
            at_start: true,
            odd: None,
            high: None,
            offset: 0,
        })
    }

    /// Decodes more input, appending UTF-8 to `out`. An unpaired surrogate is an error that says
    /// where it is.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<u8>) -> Result<(), TableError> {
        let mut bytes = bytes;
        if let Some(first) = self.odd.take() {
            let Some((&second, rest)) = bytes.split_first() else {
                self.odd = Some(first);
                return Ok(());
            };
            bytes = rest;
            self.unit([first, second], out)?;
        }
        let mut pairs = bytes.chunks_exact(2);
        for pair in pairs.by_ref() {
            self.unit([pair[0], pair[1]], out)?;
        }
        self.odd = pairs.remainder().first().copied();
        Ok(())
    }

    /// The input has ended: a half character left over is an error.
    pub fn finish(&mut self) -> Result<(), TableError> {
        if let Some((_, at)) = self.high.take() {
            return Err(TableError::utf16(at));
        }
        if self.odd.take().is_some() {
            return Err(TableError::utf16(self.offset));
        }
        Ok(())
    }

    fn unit(&mut self, pair: [u8; 2], out: &mut Vec<u8>) -> Result<(), TableError> {
        let at = self.offset;
        self.offset += 2;
        let unit = match self.order {
            Order::Little => u16::from_le_bytes(pair),
            Order::Big => u16::from_be_bytes(pair),
        };
        if std::mem::take(&mut self.at_start) && unit == 0xFEFF {
            return Ok(());
        }
        let c = match (self.high.take(), unit) {
            (None, 0xD800..=0xDBFF) => {
                self.high = Some((unit, at));
                return Ok(());
            }
            (Some((high, _)), 0xDC00..=0xDFFF) => {
                let code =
                    0x10000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(unit) - 0xDC00);
                char::from_u32(code).ok_or_else(|| TableError::utf16(at))?
            }
            (Some((_, began)), _) => return Err(TableError::utf16(began)),
            (None, 0xDC00..=0xDFFF) => return Err(TableError::utf16(at)),
            (None, unit) => char::from_u32(u32::from(unit)).ok_or_else(|| TableError::utf16(at))?,
        };
        let mut buffer = [0; 4];
        out.extend_from_slice(c.encode_utf8(&mut buffer).as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(text: &str, big: bool) -> Vec<u8> {
        let mut bytes = if big {
            vec![0xFE, 0xFF]
        } else {
            vec![0xFF, 0xFE]
        };
        for unit in text.encode_utf16() {
            bytes.extend(if big {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        bytes
    }

    #[test]
    fn both_orders_decode_in_pieces_of_any_size() {
        let text = "name,email\r\n陳大文,tai.man@例子.香港\r\n😀,a@b.c\r\n";
        for big in [false, true] {
            let bytes = encoded(text, big);
            for size in [1, 2, 3, 5, 64] {
                let mut decoder = Utf16Decoder::sniff(&bytes).expect("a BOM");
                let mut out = Vec::new();
                for piece in bytes.chunks(size) {
                    decoder.push(piece, &mut out).expect("valid");
                }
                decoder.finish().expect("whole");
                assert_eq!(String::from_utf8(out).expect("UTF-8"), text, "size {size}");
            }
        }
    }

    #[test]
    fn only_a_utf16_mark_is_sniffed() {
        assert!(Utf16Decoder::sniff(b"\xEF\xBB\xBFemail").is_none());
        assert!(Utf16Decoder::sniff(b"email").is_none());
        assert!(Utf16Decoder::sniff(&[0xFF]).is_none());
    }

    #[test]
    fn unpaired_surrogates_and_half_characters_say_where() {
        // A lone high surrogate (0xD83D) before "a", at byte 2 of the file.
        let mut decoder = Utf16Decoder::sniff(&[0xFF, 0xFE]).expect("a BOM");
        let mut out = Vec::new();
        let error = decoder
            .push(&[0xFF, 0xFE, 0x3D, 0xD8, b'a', 0], &mut out)
            .expect_err("unpaired");
        assert_eq!(error.code(), "csv_encoding");
        assert!(error.to_string().contains("byte 2"), "{error}");
        let mut decoder = Utf16Decoder::sniff(&[0xFF, 0xFE]).expect("a BOM");
        decoder
            .push(&[0xFF, 0xFE, b'a', 0, b'b'], &mut out)
            .expect("so far");
        assert!(decoder.finish().is_err(), "an odd byte at the end");
    }
}
