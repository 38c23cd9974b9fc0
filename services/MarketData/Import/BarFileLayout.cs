using System.Globalization;
using Platform.Quant;

namespace Platform.MarketData.Import;

/// <summary>What a column of a bar file holds.</summary>
public enum ColumnRole { Skip, Date, Time, DateTime, Open, High, Low, Close, AdjClose, Volume }

/// <summary>
/// How to read a delimited bar file: the role of each column by position, the delimiter, the decimal separator,
/// date and time formats (null: detected) and the time zone of the timestamps (intraday bars are converted to UTC;
/// a daily bar is keyed by its trading date at midnight UTC).
/// </summary>
public sealed record BarFileLayout
{
    public required IReadOnlyList<ColumnRole> Columns { get; init; }
    public char Delimiter { get; init; } = ',';
    public char DecimalSeparator { get; init; } = '.';
    public bool HasHeader { get; init; } = true;
    public string? DateFormat { get; init; }
    public string? TimeFormat { get; init; }
    public TimeZoneInfo TimeZone { get; init; } = TimeZoneInfo.Utc;

    public bool HasTimeOfDay => Columns.Contains(ColumnRole.Time) || Columns.Contains(ColumnRole.DateTime);

    public int IndexOf(ColumnRole role)
    {
        for (var i = 0; i < Columns.Count; i++) if (Columns[i] == role) return i;
        return -1;
    }

    public string Describe() => string.Join(Delimiter == '\t' ? "\\t" : Delimiter.ToString(), Columns.Select(c => c.ToString()));

    /// <summary>Parses a column list such as <c>date,time,open,high,low,close,volume,skip</c>.</summary>
    public static IReadOnlyList<ColumnRole> ParseColumns(string text) =>
        text.Split(',', StringSplitOptions.TrimEntries).Select(name => RoleOf(name)
            ?? throw new FormatException($"Unknown column '{name}'. Use date, time, datetime, open, high, low, close, adjclose, volume or skip.")).ToList();

    /// <summary>The role a header name stands for, or null when it is not a known bar column.</summary>
    public static ColumnRole? RoleOf(string header)
    {
        var key = new string(header.Where(char.IsAsciiLetterOrDigit).ToArray()).ToLowerInvariant();
        return key switch
        {
            "date" or "day" or "tradedate" or "datum" => ColumnRole.Date,
            "time" or "timeofday" or "zeit" or "uhrzeit" => ColumnRole.Time,
            "datetime" or "timestamp" or "ts" or "localtime" or "gmttime" => ColumnRole.DateTime,
            "open" or "o" or "openprice" => ColumnRole.Open,
            "high" or "h" or "highprice" => ColumnRole.High,
            "low" or "l" or "lowprice" => ColumnRole.Low,
            "close" or "c" or "last" or "closeprice" => ColumnRole.Close,
            "adjclose" or "adjustedclose" or "adjcloseprice" => ColumnRole.AdjClose,
            "volume" or "vol" or "v" => ColumnRole.Volume,
            "skip" or "openinterest" or "oi" or "ticker" or "symbol" or "per" or "trades" or "count" => ColumnRole.Skip,
            _ => null,
        };
    }

    public static TimeZoneInfo ParseTimeZone(string? id) =>
        string.IsNullOrWhiteSpace(id) || id.Equals("UTC", StringComparison.OrdinalIgnoreCase)
            ? TimeZoneInfo.Utc
            : TimeZoneInfo.FindSystemTimeZoneById(id);

    internal static readonly string[] DateFormats = ["yyyy-MM-dd", "yyyyMMdd", "yyyy/MM/dd", "dd.MM.yyyy", "yyyy.MM.dd"];
    internal static readonly string[] TimeFormats = ["HH:mm:ss", "HH:mm", "HHmmss", "HHmm", "H:mm:ss", "H:mm", "HH:mm:ss.fff"];
    internal static readonly string[] DateTimeFormats =
        ["yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd'T'HH:mm", "yyyyMMdd HHmmss", "yyyyMMdd HH:mm:ss",
         "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.fffK", "yyyy-MM-dd HH:mm:ssK"];

    internal static bool LooksLikeTime(string field) =>
        TimeFormats.Any(f => f.Contains(':') && TimeOnly.TryParseExact(field.Trim(), f, CultureInfo.InvariantCulture, DateTimeStyles.None, out _));

    internal static bool LooksLikeDate(string field) =>
        DateFormats.Any(f => DateOnly.TryParseExact(field.Trim(), f, CultureInfo.InvariantCulture, DateTimeStyles.None, out _));
}

/// <summary>What the importer needs besides the file: symbol, interval (null: inferred) and the policies.</summary>
public sealed record ImportOptions(string Symbol)
{
    public BarInterval? Interval { get; init; }
    /// <summary>Import the valid rows and report the rest, instead of importing nothing when a row is invalid.</summary>
    public bool SkipInvalid { get; init; }
    /// <summary>Replace stored bars that differ (a vendor correction) instead of reporting them as conflicts.</summary>
    public bool Overwrite { get; init; }
    /// <summary>A full layout; without it the layout is detected from the header and the first rows.</summary>
    public BarFileLayout? Layout { get; init; }
    public char? Delimiter { get; init; }
    public char? DecimalSeparator { get; init; }
    public string? DateFormat { get; init; }
    public string? TimeFormat { get; init; }
    public TimeZoneInfo? TimeZone { get; init; }
}
