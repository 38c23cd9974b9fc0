using System.Buffers;
using System.Runtime.CompilerServices;

namespace Platform.MarketData.Import;

/// <summary>
/// Lines of a text reader as spans over one pooled buffer, with <see cref="TextReader.ReadLine"/>'s rules (a line ends
/// at <c>\n</c>, <c>\r</c> or <c>\r\n</c>; the last line needs no terminator). <see cref="TryNext"/> hands out the
/// complete lines in the buffer (each valid until the next call); <see cref="FillAsync"/> reads more. A line longer
/// than the buffer grows it.
/// </summary>
internal sealed class LineReader(TextReader reader, int bufferSize = 1 << 17) : IDisposable
{
    private char[] _buffer = ArrayPool<char>.Shared.Rent(bufferSize);
    private int _start;
    private int _end;
    private bool _eof;

    /// <summary>The 1-based number of the line last handed out.</summary>
    public int LineNumber { get; private set; }

    /// <summary>The next complete line in the buffer; false when the buffer holds none (call <see cref="FillAsync"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryNext(out ReadOnlySpan<char> line)
    {
        var span = _buffer.AsSpan(_start, _end - _start);
        var i = span.IndexOfAny('\r', '\n');
        int consumed;
        if (i < 0)
        {
            line = default;
            if (!_eof || span.Length == 0) return false;
            // The last line of the input, without a terminator.
            line = span;
            _start = _end;
            LineNumber++;
            return true;
        }
        if (span[i] == '\n') consumed = i + 1;
        else if (i + 1 < span.Length) consumed = span[i + 1] == '\n' ? i + 2 : i + 1;
        else if (_eof) consumed = i + 1;
        else
        {
            // A \r at the end of the buffer: whether a \n follows is not known yet.
            line = default;
            return false;
        }
        line = span[..i];
        _start += consumed;
        LineNumber++;
        return true;
    }

    /// <summary>The next line as a string (the layout sample), or false as <see cref="TryNext"/>.</summary>
    public bool TryNextString(out string text)
    {
        var found = TryNext(out var line);
        text = found ? line.ToString() : "";
        return found;
    }

    /// <summary>Reads more of the input; false when it has ended and every line has been handed out.</summary>
    public async ValueTask<bool> FillAsync(CancellationToken ct)
    {
        if (_eof) return _start < _end;
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length)
        {
            var larger = ArrayPool<char>.Shared.Rent(_buffer.Length * 2);
            _buffer.AsSpan(0, _end).CopyTo(larger);
            ArrayPool<char>.Shared.Return(_buffer);
            _buffer = larger;
        }
        var read = await reader.ReadAsync(_buffer.AsMemory(_end), ct);
        if (read == 0) _eof = true;
        _end += read;
        return true;
    }

    public void Dispose()
    {
        ArrayPool<char>.Shared.Return(_buffer);
        _buffer = [];
    }
}
