package cli

import (
	"bufio"
	"io"
	"strings"
	"unicode"
)

// writeTable writes rows as left-aligned columns two spaces apart. Unlike
// text/tabwriter, which counts every character as one column, it pads by the
// columns a terminal gives each character (see [cellWidth]), so that names in
// Chinese, Japanese or Korean, or with emoji, keep the columns aligned.
func writeTable(w io.Writer, rows [][]string) error {
	var widths []int
	for _, row := range rows {
		for i, cell := range row {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], cellWidth(cell))
		}
	}
	bw := bufio.NewWriter(w)
	for _, row := range rows {
		for i, cell := range row {
			bw.WriteString(cell)
			if i < len(row)-1 {
				bw.WriteString(strings.Repeat(" ", widths[i]-cellWidth(cell)+2))
			}
		}
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// cellWidth returns how many terminal columns s takes: two for each East Asian
// wide or fullwidth character (Unicode Standard Annex #11) and emoji, none for
// combining marks, format characters (such as zero-width joiners) and control
// characters, one for the rest.
func cellWidth(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Cc):
		case unicode.Is(wide, r):
			n += 2
		default:
			n++
		}
	}
	return n
}

// wide holds the East Asian Wide (W) and Fullwidth (F) blocks of UAX #11 that
// names are written in, and the emoji blocks terminals draw two columns wide.
var wide = &unicode.RangeTable{
	R16: []unicode.Range16{
		{Lo: 0x1100, Hi: 0x115f, Stride: 1}, // Hangul Jamo initial consonants
		{Lo: 0x2e80, Hi: 0x303e, Stride: 1}, // CJK radicals, Kangxi, CJK symbols and punctuation
		{Lo: 0x3041, Hi: 0x33ff, Stride: 1}, // Hiragana, Katakana, Bopomofo, Hangul compatibility Jamo, CJK compatibility
		{Lo: 0x3400, Hi: 0x4dbf, Stride: 1}, // CJK unified ideographs extension A
		{Lo: 0x4e00, Hi: 0x9fff, Stride: 1}, // CJK unified ideographs
		{Lo: 0xa000, Hi: 0xa4cf, Stride: 1}, // Yi
		{Lo: 0xac00, Hi: 0xd7a3, Stride: 1}, // Hangul syllables
		{Lo: 0xf900, Hi: 0xfaff, Stride: 1}, // CJK compatibility ideographs
		{Lo: 0xfe30, Hi: 0xfe4f, Stride: 1}, // CJK compatibility forms
		{Lo: 0xff00, Hi: 0xff60, Stride: 1}, // fullwidth forms
		{Lo: 0xffe0, Hi: 0xffe6, Stride: 1}, // fullwidth signs
	},
	R32: []unicode.Range32{
		{Lo: 0x1f300, Hi: 0x1f64f, Stride: 1}, // pictographs, emoticons
		{Lo: 0x1f900, Hi: 0x1f9ff, Stride: 1}, // supplemental symbols and pictographs
		{Lo: 0x20000, Hi: 0x2fffd, Stride: 1}, // CJK unified ideographs extensions B to F
		{Lo: 0x30000, Hi: 0x3fffd, Stride: 1}, // CJK unified ideographs extension G and later
	},
}
