using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using Npgsql;
using Platform.Quant;

namespace Platform.OfflineStore.Postgres;

/// <summary>
/// The direct path's COPY into <c>bars</c>, written in PostgreSQL's binary COPY format by hand into one pooled buffer:
/// per bar a few big-endian stores instead of ten typed writes through <see cref="NpgsqlBinaryImporter"/>, which leaves
/// the core to parsing. <see cref="CompleteAsync"/> ends the COPY (a server error surfaces there); disposing a writer
/// that was not completed cancels it, and the transaction around it rolls back.
/// </summary>
internal sealed class BarCopyWriter : IAsyncDisposable
{
    private const int Columns = 10;
    // The binary COPY epoch (2000-01-01 UTC) in .NET ticks.
    private const long EpochTicks = 630822816000000000;
    private static readonly byte[] Header = [(byte)'P', (byte)'G', (byte)'C', (byte)'O', (byte)'P', (byte)'Y', (byte)'\n', 0xFF, (byte)'\r', (byte)'\n', 0, 0, 0, 0, 0, 0, 0, 0, 0];

    private readonly NpgsqlRawCopyStream _stream;
    private readonly byte[] _symbol;
    private readonly byte[] _interval;
    private readonly int _maxRow;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
    private int _length;
    private bool _completed;

    private BarCopyWriter(NpgsqlRawCopyStream stream, string symbol, string interval)
    {
        _stream = stream;
        _symbol = Encoding.UTF8.GetBytes(symbol);
        _interval = Encoding.UTF8.GetBytes(interval);
        _maxRow = 2 + 4 + _symbol.Length + 4 + _interval.Length + 8 * 12;
        if (_maxRow > _buffer.Length / 2) throw new ArgumentException("symbol too long for a COPY row", nameof(symbol));
        Header.CopyTo(_buffer, 0);
        _length = Header.Length;
    }

    public static async Task<BarCopyWriter> BeginAsync(NpgsqlConnection connection, string symbol, string interval, CancellationToken ct) =>
        new(await connection.BeginRawBinaryCopyAsync(PostgresBarSql.CopyBars, ct), symbol, interval);

    /// <summary>Encodes the bars into the buffer, sending each full buffer (a send waits while the server's socket buffer is full).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Write(ReadOnlySpan<Bar> bars)
    {
        foreach (ref readonly var bar in bars)
        {
            if (_length + _maxRow > _buffer.Length) Flush();
            var s = _buffer.AsSpan(_length);
            BinaryPrimitives.WriteInt16BigEndian(s, Columns);
            var at = 2;
            at = Bytes(s, at, _symbol);
            at = Bytes(s, at, _interval);
            BinaryPrimitives.WriteInt32BigEndian(s[at..], 8);
            BinaryPrimitives.WriteInt64BigEndian(s[(at + 4)..], (bar.Time.UtcTicks - EpochTicks) / 10);
            at += 12;
            at = Double(s, at, bar.Open);
            at = Double(s, at, bar.High);
            at = Double(s, at, bar.Low);
            at = Double(s, at, bar.Close);
            at = Double(s, at, bar.Volume);
            at = bar.AdjClose is { } adj ? Double(s, at, adj) : Null(s, at);
            at = bar.Vwap is { } vwap ? Double(s, at, vwap) : Null(s, at);
            _length += at;
        }
    }

    private static int Bytes(Span<byte> s, int at, byte[] value)
    {
        BinaryPrimitives.WriteInt32BigEndian(s[at..], value.Length);
        value.CopyTo(s[(at + 4)..]);
        return at + 4 + value.Length;
    }

    private static int Double(Span<byte> s, int at, double value)
    {
        BinaryPrimitives.WriteInt32BigEndian(s[at..], 8);
        BinaryPrimitives.WriteDoubleBigEndian(s[(at + 4)..], value);
        return at + 12;
    }

    private static int Null(Span<byte> s, int at)
    {
        BinaryPrimitives.WriteInt32BigEndian(s[at..], -1);
        return at + 4;
    }

    private void Flush()
    {
        _stream.Write(_buffer, 0, _length);
        _length = 0;
    }

    /// <summary>Sends the rest and the trailer and ends the COPY; the server's verdict on the rows comes back here.</summary>
    public async Task CompleteAsync(CancellationToken ct)
    {
        if (_length + 2 > _buffer.Length) Flush();
        BinaryPrimitives.WriteInt16BigEndian(_buffer.AsSpan(_length), -1);
        _length += 2;
        await _stream.WriteAsync(_buffer.AsMemory(0, _length), ct);
        _length = 0;
        _completed = true;
        await _stream.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_buffer.Length == 0) return;
        try
        {
            if (!_completed) await _stream.CancelAsync();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }
}
