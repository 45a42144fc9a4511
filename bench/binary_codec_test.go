package bench

import (
	"github.com/seed96b21533/typedsession"
	bincodec "github.com/seed96b21533/typedsession/codec/binary"
)

// The -binary backends use codec/binary, the compact binary codec, on the stores where
// the codec is most of the cost of a request. BenchmarkRequest runs them beside the
// -gojson ones, and BenchmarkCodec runs binaryCodec as codec=binary.
var (
	binaryCodec typedsession.Codec = bincodec.Codec{}

	memoryBinary = memoryBackend("memory-binary", binaryCodec)
	cookieBinary = cookieBackend("cookie-binary", binaryCodec)
)
