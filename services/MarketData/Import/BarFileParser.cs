using System.Globalization;
using Platform.Quant;

namespace Platform.MarketData.Import;

/// <summary>Turns the rows of a delimited file into bars with a <see cref="BarFileLayout"/>; a row that cannot be read gets a reason.</summary>
public sealed class BarFileParser(BarFileLayout layout)
{
    private readonly int _date = layout.IndexOf(ColumnRole.Date);
    private readonly int _time = layout.IndexOf(ColumnRole.Time);
    private readonly int _dateTime = layout.IndexOf(ColumnRole.DateTime);
    private readonly int _open = layout.IndexOf(ColumnRole.Open);
    private readonly int _high = layout.IndexOf(ColumnRole.High);
    private readonly int _low = layout.IndexOf(ColumnRole.Low);
    private readonly int _close = layout.IndexOf(ColumnRole.Close);
    private readonly int _adj = layout.IndexOf(ColumnRole.AdjClose);
    private readonly int _volume = layout.IndexOf(ColumnRole.Volume);

    /// <summary>Parses one row: a bar, or the reason it cannot be read.</summary>
    public (Bar Bar, string? Error) Parse(string text)
    {
        var f = Split(text, layout.Delimiter);
        if (f.Count != layout.Columns.Count)
            return (default, $"has {f.Count} fields, expected {layout.Columns.Count} ({layout.Describe()})");
        if (!TryTime(f, out var time, out var timeError)) return (default, timeError);
        string? error = null;
        var open = Number(f, _open, "open", ref error);
        var high = Number(f, _high, "high", ref error);
        var low = Number(f, _low, "low", ref error);
        var close = Number(f, _close, "close", ref error);
        double? adj = _adj >= 0 ? Number(f, _adj, "adjusted close", ref error) : null;
        var volume = _volume >= 0 ? Number(f, _volume, "volume", ref error) : 0.0;
        return error is null ? (new Bar(time, open, high, low, close, volume, adj), null) : (default, error);
    }

    private bool TryTime(IReadOnlyList<string> f, out DateTimeOffset time, out string? error)
    {
        time = default;
        error = null;
        var inv = CultureInfo.InvariantCulture;
        if (_dateTime >= 0)
        {
            var s = f[_dateTime].Trim();
            if (!DateTimeOffset.TryParseExact(s, layout.DateFormat ?? "o", inv, DateTimeStyles.AssumeUniversal, out var dto)
                && !DateTimeOffset.TryParse(s, inv, DateTimeStyles.AssumeUniversal, out dto))
            {
                error = $"date-time '{s}' does not match {layout.DateFormat}";
                return false;
            }
            var hasOffset = s.EndsWith('Z') || s.LastIndexOfAny(['+', '-']) > 10;
            time = hasOffset || layout.TimeZone == TimeZoneInfo.Utc
                ? dto.ToUniversalTime()
                : new DateTimeOffset(TimeZoneInfo.ConvertTimeToUtc(DateTime.SpecifyKind(dto.DateTime, DateTimeKind.Unspecified), layout.TimeZone));
            return true;
        }
        var ds = f[_date].Trim();
        if (!DateOnly.TryParseExact(ds, layout.DateFormat ?? "yyyy-MM-dd", inv, DateTimeStyles.None, out var date))
        {
            error = $"date '{ds}' does not match {layout.DateFormat}";
            return false;
        }
        if (_time < 0)
        {
            // A daily bar is keyed by its trading date, whatever the exchange's time zone.
            time = new DateTimeOffset(date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            return true;
        }
        var ts = f[_time].Trim();
        if (!TimeOnly.TryParseExact(ts, layout.TimeFormat ?? "HH:mm:ss", inv, DateTimeStyles.None, out var tod))
        {
            error = $"time '{ts}' does not match {layout.TimeFormat}";
            return false;
        }
        var local = DateTime.SpecifyKind(date.ToDateTime(tod), DateTimeKind.Unspecified);
        if (layout.TimeZone != TimeZoneInfo.Utc && layout.TimeZone.IsInvalidTime(local))
        {
            error = $"{ds} {ts} does not exist in time zone {layout.TimeZone.Id} (daylight-saving gap)";
            return false;
        }
        time = new DateTimeOffset(TimeZoneInfo.ConvertTimeToUtc(local, layout.TimeZone));
        return true;
    }

    private double Number(IReadOnlyList<string> f, int index, string name, ref string? error)
    {
        var s = f[index].Trim();
        if (layout.DecimalSeparator != '.') s = s.Replace('.', '\0').Replace(layout.DecimalSeparator, '.').Replace("\0", "");
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v)) return v;
        error ??= s.Length == 0 || s.Equals("null", StringComparison.OrdinalIgnoreCase) || s.Equals("nan", StringComparison.OrdinalIgnoreCase)
            ? $"{name} is missing ('{f[index].Trim()}')"
            : $"{name} '{f[index].Trim()}' is not a number";
        return double.NaN;
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
