package main

// The structure-aware generator: random Go types (structs, pointers, slices, arrays, maps,
// interfaces holding registered basic types, GobEncoder/BinaryMarshaler/TextMarshaler
// values, every scalar kind) and random values of them, encoded by the real gob.Encoder,
// several values per stream. Every stream is valid by construction; the differential test
// also mutates them.

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"io"
	"math"
	"math/rand"
	"reflect"
)

type generator struct{ r *rand.Rand }

var leafTypes = []reflect.Type{
	reflect.TypeOf(false), reflect.TypeOf(int64(0)), reflect.TypeOf(int(0)), reflect.TypeOf(int8(0)),
	reflect.TypeOf(uint64(0)), reflect.TypeOf(uint16(0)), reflect.TypeOf(float64(0)),
	reflect.TypeOf(float32(0)), reflect.TypeOf(complex128(0)), reflect.TypeOf(""),
	reflect.TypeOf([]byte(nil)), gobRawT, binRawT, textRawT, ifaceT,
}

var keyTypes = []reflect.Type{
	reflect.TypeOf(int64(0)), reflect.TypeOf(""), reflect.TypeOf(false), reflect.TypeOf(uint64(0)),
}

func (g *generator) typ(depth int) reflect.Type {
	if depth <= 0 || g.r.Intn(3) == 0 {
		return leafTypes[g.r.Intn(len(leafTypes))]
	}
	switch g.r.Intn(6) {
	case 0, 1:
		n := g.r.Intn(5)
		fields := make([]reflect.StructField, 0, n)
		for i := 0; i < n; i++ {
			fields = append(fields, reflect.StructField{Name: fmt.Sprintf("F%d", i), Type: g.typ(depth - 1)})
		}
		if n > 0 && g.r.Intn(4) == 0 {
			// An unexported field: gob neither sends nor expects it.
			fields = append(fields, reflect.StructField{Name: "x", PkgPath: "main", Type: reflect.TypeOf(0)})
		}
		return reflect.StructOf(fields)
	case 2:
		return reflect.SliceOf(g.typ(depth - 1))
	case 3:
		return reflect.ArrayOf(g.r.Intn(4), g.typ(depth-1))
	case 4:
		return reflect.MapOf(keyTypes[g.r.Intn(len(keyTypes))], g.typ(depth-1))
	default:
		return reflect.PointerTo(g.typ(depth - 1))
	}
}

func (g *generator) str() string {
	const alphabet = "ab\x00é€\U0001F600"
	runes := []rune(alphabet)
	n := g.r.Intn(6)
	out := make([]rune, n)
	for i := range out {
		out[i] = runes[g.r.Intn(len(runes))]
	}
	return string(out)
}

func (g *generator) u64() uint64 {
	switch g.r.Intn(4) {
	case 0:
		return 0
	case 1:
		return uint64(g.r.Intn(300))
	default:
		return g.r.Uint64() >> uint(g.r.Intn(64))
	}
}

func (g *generator) f64() float64 {
	switch g.r.Intn(6) {
	case 0:
		return 0
	case 1:
		return math.Copysign(0, -1)
	case 2:
		return math.Inf(1 - 2*g.r.Intn(2))
	case 3:
		return float64(g.r.Intn(1000)) / 8
	default:
		return math.Float64frombits(g.r.Uint64())
	}
}

// ifaceValues are concrete types gob registers by default (registerBasics).
func (g *generator) ifaceValue() any {
	switch g.r.Intn(9) {
	case 0:
		return nil
	case 1:
		return int(int64(g.u64()))
	case 2:
		return g.str()
	case 3:
		return g.f64()
	case 4:
		return []string{g.str(), g.str()}
	case 5:
		return g.r.Intn(2) == 1
	case 6:
		return uint(g.u64())
	case 7:
		return complex(g.f64(), g.f64())
	default:
		return []int{int(int64(g.u64())), 0}
	}
}

func (g *generator) val(t reflect.Type, depth int) reflect.Value {
	v := reflect.New(t).Elem()
	if g.r.Intn(5) == 0 && t.Kind() != reflect.Pointer {
		return v // zero: exercises gob's omission of zero fields
	}
	switch t {
	case gobRawT, binRawT, textRawT:
		b := make([]byte, g.r.Intn(6))
		g.r.Read(b)
		v.Field(0).SetString(string(b))
		return v
	}
	switch t.Kind() {
	case reflect.Bool:
		v.SetBool(g.r.Intn(2) == 1)
	case reflect.Int, reflect.Int64, reflect.Int8:
		x := int64(g.u64())
		if g.r.Intn(2) == 0 {
			x = -x
		}
		if v.OverflowInt(x) {
			x = int64(int8(x))
		}
		v.SetInt(x)
	case reflect.Uint64, reflect.Uint16:
		x := g.u64()
		if v.OverflowUint(x) {
			x = uint64(uint16(x))
		}
		v.SetUint(x)
	case reflect.Float64:
		v.SetFloat(g.f64())
	case reflect.Float32:
		v.SetFloat(float64(float32(g.f64())))
	case reflect.Complex128:
		v.SetComplex(complex(g.f64(), g.f64()))
	case reflect.String:
		v.SetString(g.str())
	case reflect.Interface:
		if x := g.ifaceValue(); x != nil {
			v.Set(reflect.ValueOf(x))
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			b := make([]byte, g.r.Intn(8))
			g.r.Read(b)
			v.SetBytes(b)
			return v
		}
		n := g.r.Intn(4)
		s := reflect.MakeSlice(t, n, n)
		for i := 0; i < n; i++ {
			s.Index(i).Set(g.val(t.Elem(), depth+1))
		}
		v.Set(s)
	case reflect.Array:
		for i := 0; i < t.Len(); i++ {
			v.Index(i).Set(g.val(t.Elem(), depth+1))
		}
	case reflect.Map:
		m := reflect.MakeMap(t)
		for i := g.r.Intn(4); i > 0; i-- {
			m.SetMapIndex(g.val(t.Key(), depth+1), g.val(t.Elem(), depth+1))
		}
		v.Set(m)
	case reflect.Pointer:
		if g.r.Intn(4) == 0 && depth > 0 {
			return v // nil pointer: omitted like a zero field
		}
		p := reflect.New(t.Elem())
		p.Elem().Set(g.val(t.Elem(), depth+1))
		v.Set(p)
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if t.Field(i).IsExported() {
				v.Field(i).Set(g.val(t.Field(i).Type, depth+1))
			}
		}
	}
	return v
}

// generate writes n valid streams for seed to w, as records.
func generate(w io.Writer, seed int64, n int) error {
	g := &generator{r: rand.New(rand.NewSource(seed))}
	var lb [4]byte
	for written := 0; written < n; {
		var buf bytes.Buffer
		enc := gob.NewEncoder(&buf)
		types := []reflect.Type{g.typ(3)}
		if g.r.Intn(2) == 0 {
			types = append(types, g.typ(2))
		}
		ok := false
		for i := 1 + g.r.Intn(3); i > 0; i-- {
			t := types[g.r.Intn(len(types))]
			v := g.val(t, 0)
			// Pointers are flattened by gob; a nil top-level pointer is not encodable.
			// gob's encoder panics (instead of failing) on some values, e.g. a nil *T
			// array element whose T has a value-receiver GobEncode: such a stream is dropped.
			before := buf.Len()
			if err := safeEncode(enc, v); err != nil {
				buf.Truncate(before)
				break
			}
			ok = true
		}
		if !ok {
			continue
		}
		binary.LittleEndian.PutUint32(lb[:], uint32(buf.Len()))
		if _, err := w.Write(lb[:]); err != nil {
			return err
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return err
		}
		written++
	}
	return nil
}

func safeEncode(enc *gob.Encoder, v reflect.Value) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("encoder panic: %v", p)
		}
	}()
	return enc.EncodeValue(v)
}
