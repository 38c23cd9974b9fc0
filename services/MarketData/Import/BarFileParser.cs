using System.Globalization;
using System.Runtime.CompilerServices;
using Platform.Quant;

namespace Platform.MarketData.Import;

/// <summary>
/// Turns the rows of a delimited file into bars with a <see cref="BarFileLayout"/>; a row that cannot be read gets a reason.
/// A row is read as spans over the caller's buffer: fields are located, never copied, and numbers, dates and times are
/// read from the spans (the common formats by hand, the rest by the framework's span parsers), so a well-formed row
/// allocates nothing. Only a quoted row, and the message of a row that cannot be read, make strings.
/// </summary>
public sealed class BarFileParser(BarFileLayout layout)
{
    private const int MaxFastDigits = 15;

    private readonly int _columns = layout.Columns.Count;
    private readonly char _delimiter = layout.Delimiter;
    private readonly char _decimal = layout.DecimalSeparator;
    private readonly bool _utc = layout.TimeZone == TimeZoneInfo.Utc;
    private readonly DateFormat _dateFormat = (layout.DateFormat ?? "yyyy-MM-dd") switch
    {
        "yyyy-MM-dd" => DateFormat.Dashed,
        "yyyyMMdd" => DateFormat.Compact,
        _ => DateFormat.Other,
    };
    private readonly TimeFormat _timeFormat = (layout.TimeFormat ?? "HH:mm:ss") switch
    {
        "HH:mm:ss" => TimeFormat.Seconds,
        "HH:mm" => TimeFormat.Minutes,
        _ => TimeFormat.Other,
    };
    private readonly int _date = layout.IndexOf(ColumnRole.Date);
    private readonly int _time = layout.IndexOf(ColumnRole.Time);
    private readonly int _dateTime = layout.IndexOf(ColumnRole.DateTime);
    private readonly int _open = layout.IndexOf(ColumnRole.Open);
    private readonly int _high = layout.IndexOf(ColumnRole.High);
    private readonly int _low = layout.IndexOf(ColumnRole.Low);
    private readonly int _close = layout.IndexOf(ColumnRole.Close);
    private readonly int _adj = layout.IndexOf(ColumnRole.AdjClose);
    private readonly int _volume = layout.IndexOf(ColumnRole.Volume);

    private enum DateFormat { Dashed, Compact, Other }

    private enum TimeFormat { Seconds, Minutes, Other }

    private static readonly double[] Pow10 =
        [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

    /// <summary>Parses one row: a bar, or the reason it cannot be read.</summary>
    public (Bar Bar, string? Error) Parse(string text) => TryParse(text, out var bar, out var error) ? (bar, null) : (default, error);

    /// <summary>Parses one row without copying it: true and the bar, or false and the reason it cannot be read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryParse(ReadOnlySpan<char> line, out Bar bar, out string? error)
    {
        bar = default;
        if (line.Contains('"'))
        {
            // Quoted fields (rare in bar files): unquote into strings and read those.
            var fields = Split(line.ToString(), _delimiter);
            var joined = string.Join('\0', fields);
            Span<Range> quoted = fields.Count <= 64 ? stackalloc Range[fields.Count] : new Range[fields.Count];
            var at = 0;
            for (var i = 0; i < fields.Count; i++)
            {
                quoted[i] = new Range(at, at + fields[i].Length);
                at += fields[i].Length + 1;
            }
            return TryFields(joined, quoted, out bar, out error);
        }
        Span<Range> ranges = _columns <= 64 ? stackalloc Range[_columns] : new Range[_columns];
        var count = 0;
        var start = 0;
        while (true)
        {
            var next = line[start..].IndexOf(_delimiter);
            var end = next < 0 ? line.Length : start + next;
            if (count < _columns) ranges[count] = new Range(start, end);
            count++;
            if (next < 0) break;
            start = end + 1;
        }
        if (count != _columns)
        {
            error = $"has {count} fields, expected {_columns} ({layout.Describe()})";
            return false;
        }
        return TryFields(line, ranges, out bar, out error);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool TryFields(ReadOnlySpan<char> line, ReadOnlySpan<Range> f, out Bar bar, out string? error)
    {
        bar = default;
        if (f.Length != _columns)
        {
            error = $"has {f.Length} fields, expected {_columns} ({layout.Describe()})";
            return false;
        }
        if (!TryTime(line, f, out var time, out error)) return false;
        var open = Number(line, f, _open, "open", ref error);
        var high = Number(line, f, _high, "high", ref error);
        var low = Number(line, f, _low, "low", ref error);
        var close = Number(line, f, _close, "close", ref error);
        double? adj = _adj >= 0 ? Number(line, f, _adj, "adjusted close", ref error) : null;
        var volume = _volume >= 0 ? Number(line, f, _volume, "volume", ref error) : 0.0;
        if (error is not null) return false;
        bar = new Bar(time, open, high, low, close, volume, adj);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool TryTime(ReadOnlySpan<char> line, ReadOnlySpan<Range> f, out DateTimeOffset time, out string? error)
    {
        time = default;
        error = null;
        var inv = CultureInfo.InvariantCulture;
        if (_dateTime >= 0)
        {
            var s = line[f[_dateTime]].Trim();
            if (!DateTimeOffset.TryParseExact(s, layout.DateFormat ?? "o", inv, DateTimeStyles.AssumeUniversal, out var dto)
                && !DateTimeOffset.TryParse(s, inv, DateTimeStyles.AssumeUniversal, out dto))
            {
                error = $"date-time '{s}' does not match {layout.DateFormat}";
                return false;
            }
            var hasOffset = s.EndsWith('Z') || s.LastIndexOfAny('+', '-') > 10;
            time = hasOffset || _utc
                ? dto.ToUniversalTime()
                : new DateTimeOffset(TimeZoneInfo.ConvertTimeToUtc(DateTime.SpecifyKind(dto.DateTime, DateTimeKind.Unspecified), layout.TimeZone));
            return true;
        }
        var ds = line[f[_date]].Trim();
        if (!TryDate(ds, out var dateTicks))
        {
            error = $"date '{ds}' does not match {layout.DateFormat}";
            return false;
        }
        if (_time < 0)
        {
            // A daily bar is keyed by its trading date, whatever the exchange's time zone.
            time = new DateTimeOffset(dateTicks, TimeSpan.Zero);
            return true;
        }
        var ts = line[f[_time]].Trim();
        if (!TryTimeOfDay(ts, out var todTicks))
        {
            error = $"time '{ts}' does not match {layout.TimeFormat}";
            return false;
        }
        if (_utc)
        {
            time = new DateTimeOffset(dateTicks + todTicks, TimeSpan.Zero);
            return true;
        }
        var local = new DateTime(dateTicks + todTicks, DateTimeKind.Unspecified);
        if (layout.TimeZone.IsInvalidTime(local))
        {
            error = $"{ds} {ts} does not exist in time zone {layout.TimeZone.Id} (daylight-saving gap)";
            return false;
        }
        time = new DateTimeOffset(TimeZoneInfo.ConvertTimeToUtc(local, layout.TimeZone));
        return true;
    }

    /// <summary>The date's ticks: yyyy-MM-dd and yyyyMMdd read by hand, other formats (and anything unusual) by the framework.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool TryDate(ReadOnlySpan<char> s, out long ticks)
    {
        ticks = 0;
        int y = -1, m = -1, d = -1;
        if (_dateFormat == DateFormat.Dashed && s.Length == 10 && s[4] == '-' && s[7] == '-')
        {
            y = Digits(s, 0, 4);
            m = Digits(s, 5, 2);
            d = Digits(s, 8, 2);
        }
        else if (_dateFormat == DateFormat.Compact && s.Length == 8)
        {
            y = Digits(s, 0, 4);
            m = Digits(s, 4, 2);
            d = Digits(s, 6, 2);
        }
        if (y >= 1 && m is >= 1 and <= 12 && d >= 1 && d <= DateTime.DaysInMonth(y, m))
        {
            ticks = new DateTime(y, m, d).Ticks;
            return true;
        }
        if (!DateOnly.TryParseExact(s, layout.DateFormat ?? "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)) return false;
        ticks = date.DayNumber * TimeSpan.TicksPerDay;
        return true;
    }

    /// <summary>The time of day's ticks: HH:mm:ss and HH:mm read by hand, other formats by the framework.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool TryTimeOfDay(ReadOnlySpan<char> s, out long ticks)
    {
        ticks = 0;
        int h = -1, m = -1, sec = 0;
        if (_timeFormat == TimeFormat.Seconds && s.Length == 8 && s[2] == ':' && s[5] == ':')
        {
            h = Digits(s, 0, 2);
            m = Digits(s, 3, 2);
            sec = Digits(s, 6, 2);
        }
        else if (_timeFormat == TimeFormat.Minutes && s.Length == 5 && s[2] == ':')
        {
            h = Digits(s, 0, 2);
            m = Digits(s, 3, 2);
        }
        if (h is >= 0 and <= 23 && m is >= 0 and <= 59 && sec is >= 0 and <= 59)
        {
            ticks = (h * 3600L + m * 60L + sec) * TimeSpan.TicksPerSecond;
            return true;
        }
        if (!TimeOnly.TryParseExact(s, layout.TimeFormat ?? "HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.None, out var tod)) return false;
        ticks = tod.Ticks;
        return true;
    }

    /// <summary>The value of <paramref name="count"/> ASCII digits at <paramref name="at"/>, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Digits(ReadOnlySpan<char> s, int at, int count)
    {
        var v = 0;
        for (var i = at; i < at + count; i++)
        {
            var d = s[i] - '0';
            if ((uint)d > 9) return -1;
            v = v * 10 + d;
        }
        return v;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private double Number(ReadOnlySpan<char> line, ReadOnlySpan<Range> f, int index, string name, ref string? error)
    {
        var field = line[f[index]].Trim();
        scoped ReadOnlySpan<char> s = field;
        Span<char> buffer = stackalloc char[64];
        if (_decimal != '.')
        {
            // Thousands dots dropped, the decimal separator made a point (1.234,5 -> 1234.5).
            var n = 0;
            var target = field.Length <= buffer.Length ? buffer : new char[field.Length];
            foreach (var c in field)
            {
                if (c == '.') continue;
                target[n++] = c == _decimal ? '.' : c;
            }
            s = target[..n];
        }
        if (TryFastNumber(s, out var v) || double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out v)) return v;
        error ??= s.Length == 0 || s.Equals("null", StringComparison.OrdinalIgnoreCase) || s.Equals("nan", StringComparison.OrdinalIgnoreCase)
            ? $"{name} is missing ('{field}')"
            : $"{name} '{field}' is not a number";
        return double.NaN;
    }

    /// <summary>
    /// Plain decimals (digits, at most one point, at most 15 digits) as the framework would read them: the digits form an
    /// integer below 2^53 and the power of ten is exact, so one IEEE division gives the correctly rounded value.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool TryFastNumber(ReadOnlySpan<char> s, out double value)
    {
        value = 0;
        if (s.Length is 0 or > MaxFastDigits + 1) return false;
        long mantissa = 0;
        var digits = 0;
        var point = -1;
        for (var i = 0; i < s.Length; i++)
        {
            var d = s[i] - '0';
            if ((uint)d <= 9)
            {
                mantissa = mantissa * 10 + d;
                digits++;
            }
            else if (s[i] == '.' && point < 0) point = i;
            else return false;
        }
        if (digits == 0 || digits > MaxFastDigits) return false;
        var scale = point < 0 ? 0 : s.Length - point - 1;
        value = scale == 0 ? mantissa : mantissa / Pow10[scale];
        return true;
    }

    /// <summary>Splits one line on <paramref name="delimiter"/>, honouring double quotes.</summary>
    public static List<string> Split(string line, char delimiter)
    {
        var fields = new List<string>(8);
        if (line.IndexOf('"') < 0)
        {
            fields.AddRange(line.Split(delimiter));
            return fields;
        }
        var sb = new System.Text.StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (c == '"')
            {
                if (quoted && i + 1 < line.Length && line[i + 1] == '"') { sb.Append('"'); i++; }
                else quoted = !quoted;
            }
            else if (c == delimiter && !quoted) { fields.Add(sb.ToString()); sb.Clear(); }
            else sb.Append(c);
        }
        fields.Add(sb.ToString());
        return fields;
    }
}
