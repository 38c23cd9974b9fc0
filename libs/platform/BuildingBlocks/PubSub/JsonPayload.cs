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
    [ThreadStatic] private static bool t_writing;

    /// <summary>
    /// The JSON value <paramref name="write"/> writes, in memory of its own, exactly sized. The writer (one per thread,
    /// reused; a payload written inside another's callback gets one of its own) refuses what would not be JSON; a callback
    /// that leaves the value unfinished, or writes none, is refused here.
    /// </summary>
    public static ReadOnlyMemory<byte> Write<TState>(TState state, Action<Utf8JsonWriter, TState> write)
    {
        var nested = t_writing;
        var buffer = nested ? new ArrayBufferWriter<byte>(256) : t_buffer ??= new ArrayBufferWriter<byte>(4096);
        buffer.ResetWrittenCount();
        var writer = nested ? new Utf8JsonWriter(buffer) : t_writer ??= new Utf8JsonWriter(buffer);
        writer.Reset(buffer);
        t_writing = true;
        try
        {
            write(writer, state);
            writer.Flush();
        }
        finally
        {
            t_writing = nested;
        }
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
