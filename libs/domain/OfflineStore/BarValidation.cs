using Platform.Contracts;
using Platform.Quant;

namespace Platform.OfflineStore;

/// <summary>
/// The rules every stored bar obeys: a valid symbol (<see cref="Symbols"/>), finite positive prices below
/// <see cref="MaxPrice"/>, low &lt;= min(open, close) &lt;= max(open, close) &lt;= high, finite volume in [0, <see cref="MaxVolume"/>],
/// an open time in [<see cref="MinTime"/>, <see cref="MaxTime"/>) aligned to the interval, and open times at least one
/// interval apart, increasing, per series (so daily bars cannot be stored as weekly ones).
/// </summary>
public static class BarValidation
{
    /// <summary>No traded instrument is quoted this high; a larger price is a unit or parsing error.</summary>
    public const double MaxPrice = 1e9;
    public const double MaxVolume = 1e15;
    public static readonly DateTimeOffset MinTime = new(1900, 1, 1, 0, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset MaxTime = new(2100, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Why <paramref name="bar"/> is invalid at <paramref name="interval"/>, or null when it is valid.</summary>
    public static string? Check(in Bar bar, BarInterval interval)
    {
        if (!Positive(bar.Open)) return $"open {Show(bar.Open)} is not a finite positive price up to {Show(MaxPrice)}";
        if (!Positive(bar.High)) return $"high {Show(bar.High)} is not a finite positive price up to {Show(MaxPrice)}";
        if (!Positive(bar.Low)) return $"low {Show(bar.Low)} is not a finite positive price up to {Show(MaxPrice)}";
        if (!Positive(bar.Close)) return $"close {Show(bar.Close)} is not a finite positive price up to {Show(MaxPrice)}";
        if (bar.AdjClose is { } adj && !Positive(adj)) return $"adjusted close {Show(adj)} is not a finite positive price up to {Show(MaxPrice)}";
        if (bar.Vwap is { } vwap && !Positive(vwap)) return $"VWAP {Show(vwap)} is not a finite positive price up to {Show(MaxPrice)}";
        if (!double.IsFinite(bar.Volume) || bar.Volume < 0) return $"volume {Show(bar.Volume)} is not a finite number >= 0";
        if (bar.Volume > MaxVolume) return $"volume {Show(bar.Volume)} is above {Show(MaxVolume)}";
        if (bar.Time < MinTime || bar.Time >= MaxTime) return $"time {Iso(bar.Time)} is outside {MinTime.Year} to {MaxTime.Year - 1}";
        var bodyLow = Math.Min(bar.Open, bar.Close);
        var bodyHigh = Math.Max(bar.Open, bar.Close);
        if (bar.Low > bodyLow) return $"low {Show(bar.Low)} is above min(open, close) {Show(bodyLow)}";
        if (bar.High < bodyHigh) return $"high {Show(bar.High)} is below max(open, close) {Show(bodyHigh)}";
        if (!interval.IsAligned(bar.Time))
            return $"time {bar.Time.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'} is not aligned to the {interval} interval";
        return null;
    }

    /// <summary>
    /// Why <paramref name="bar"/> cannot follow <paramref name="previous"/> in one series of <paramref name="interval"/>
    /// (when given: bars closer than one interval are finer bars under a coarser name), or null.
    /// </summary>
    public static string? CheckOrder(DateTimeOffset? previous, in Bar bar, BarInterval? interval = null)
    {
        if (previous is not { } p) return null;
        if (bar.Time == p) return $"duplicate time {Iso(bar.Time)}";
        if (bar.Time < p) return $"time {Iso(bar.Time)} is before the previous bar's {Iso(p)} (bars must be in increasing time order)";
        if (interval is { } i && bar.Time - p < i.Length)
            return $"time {Iso(bar.Time)} is less than one {i} interval after the previous bar's {Iso(p)} (are these bars of a shorter interval?)";
        return null;
    }

    /// <summary>Every problem of a batch for the store (each rule, plus strict order per series).</summary>
    public static List<string> CheckBatch(IReadOnlyList<SymbolBar> bars)
    {
        var problems = new List<string>();
        var last = new Dictionary<(string, BarInterval), DateTimeOffset>();
        foreach (var b in bars)
        {
            if (!Symbols.IsValid(b.Symbol)) { problems.Add($"symbol '{Printable(b.Symbol)}' is not {Symbols.Rule}"); continue; }
            var key = (b.Symbol, b.Interval);
            var reason = Check(b.Bar, b.Interval)
                ?? CheckOrder(last.TryGetValue(key, out var t) ? t : null, b.Bar, b.Interval);
            if (reason is not null) problems.Add($"{b.Symbol} {b.Interval} {Iso(b.Bar.Time)}: {reason}");
            else last[key] = b.Bar.Time;
        }
        return problems;
    }

    public static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Text from a request as it may be shown in a message: control characters escaped, at most <paramref name="max"/> characters.</summary>
    public static string Printable(string? text, int max = 40)
    {
        if (text is null) return "(none)";
        var shown = string.Concat(text.Take(max).Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));
        return text.Length > max ? shown + $"... ({text.Length} characters)" : shown;
    }

    private static bool Positive(double v) => double.IsFinite(v) && v > 0 && v <= MaxPrice;

    private static string Show(double v) => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
}
