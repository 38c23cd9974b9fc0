using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Platform.BuildingBlocks.PubSub;

/// <summary>
/// Event payloads written through a <see cref="Utf8JsonWriter"/> that checks what it writes (its default options): such a
/// payload is one complete JSON value by construction, so publishing it skips reading it through again
/// (<see cref="IsCheckedJson"/>). Every other payload is still read through at publish. A writer callback that writes raw
/// values without their check (<see cref="Utf8JsonWriter.WriteRawValue(ReadOnlySpan{byte}, bool)"/>) takes that check's
/// place and must not.
/// </summary>
public static class JsonPayload
{
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_writer;

    /// <summary>
    /// The JSON value <paramref name="write"/> writes, in memory of its own, exactly sized. The writer (one per thread,
    /// reused) refuses what would not be JSON; a callback that leaves the value unfinished, or writes none, is refused here.
    /// </summary>
    public static ReadOnlyMemory<byte> Write<TState>(TState state, Action<Utf8JsonWriter, TState> write)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(4096);
        buffer.ResetWrittenCount();
        var writer = t_writer ??= new Utf8JsonWriter(buffer);
        writer.Reset(buffer);
        write(writer, state);
        writer.Flush();
        if (writer.CurrentDepth != 0 || buffer.WrittenCount == 0)
            throw new InvalidOperationException("The payload writer did not write one complete JSON value.");
        return new Checked(buffer.WrittenSpan.ToArray()).Memory;
    }

    /// <summary>True when <paramref name="data"/> is, whole, a payload <see cref="Write"/> made.</summary>
    public static bool IsCheckedJson(ReadOnlyMemory<byte> data) =>
        MemoryMarshal.TryGetMemoryManager<byte, Checked>(data, out var manager, out var start, out var length)
        && start == 0 && length == manager.Length;

    /// <summary>
    /// The memory of a checked payload: its type is the mark (a slice of it is not whole, so it is checked again). Plain
    /// managed memory: pinning it pins the array.
    /// </summary>
    private sealed class Checked(byte[] bytes) : MemoryManager<byte>
    {
        public int Length => bytes.Length;

        public override Span<byte> GetSpan() => bytes;

        public override MemoryHandle Pin(int elementIndex = 0) => bytes.AsMemory(elementIndex).Pin();

        public override void Unpin() { }

        protected override void Dispose(bool disposing) { }
    }
}
