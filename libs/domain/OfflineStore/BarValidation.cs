using Platform.Quant;

namespace Platform.OfflineStore;

/// <summary>
/// The rules every stored bar obeys: finite positive prices, low &lt;= min(open, close) &lt;= max(open, close) &lt;= high,
/// finite volume &gt;= 0, open time aligned to the interval, and open times strictly increasing per series.
/// </summary>
public static class BarValidation
{
    /// <summary>Why <paramref name="bar"/> is invalid at <paramref name="interval"/>, or null when it is valid.</summary>
    public static string? Check(in Bar bar, BarInterval interval)
    {
        if (!Positive(bar.Open)) return $"open {Show(bar.Open)} is not a finite positive price";
        if (!Positive(bar.High)) return $"high {Show(bar.High)} is not a finite positive price";
        if (!Positive(bar.Low)) return $"low {Show(bar.Low)} is not a finite positive price";
        if (!Positive(bar.Close)) return $"close {Show(bar.Close)} is not a finite positive price";
        if (bar.AdjClose is { } adj && !Positive(adj)) return $"adjusted close {Show(adj)} is not a finite positive price";
        if (bar.Vwap is { } vwap && !Positive(vwap)) return $"VWAP {Show(vwap)} is not a finite positive price";
        if (!double.IsFinite(bar.Volume) || bar.Volume < 0) return $"volume {Show(bar.Volume)} is not a finite number >= 0";
        var bodyLow = Math.Min(bar.Open, bar.Close);
        var bodyHigh = Math.Max(bar.Open, bar.Close);
        if (bar.Low > bodyLow) return $"low {Show(bar.Low)} is above min(open, close) {Show(bodyLow)}";
        if (bar.High < bodyHigh) return $"high {Show(bar.High)} is below max(open, close) {Show(bodyHigh)}";
        if (!interval.IsAligned(bar.Time))
            return $"time {bar.Time.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'} is not aligned to the {interval} interval";
        return null;
    }

    /// <summary>Why <paramref name="bar"/> cannot follow <paramref name="previous"/> in one series, or null.</summary>
    public static string? CheckOrder(DateTimeOffset? previous, in Bar bar)
    {
        if (previous is not { } p) return null;
        if (bar.Time == p) return $"duplicate time {Iso(bar.Time)}";
        if (bar.Time < p) return $"time {Iso(bar.Time)} is before the previous bar's {Iso(p)} (bars must be in increasing time order)";
        return null;
    }

    /// <summary>Every problem of a batch for the store (each rule, plus strict order per series).</summary>
    public static List<string> CheckBatch(IReadOnlyList<SymbolBar> bars)
    {
        var problems = new List<string>();
        var last = new Dictionary<(string, BarInterval), DateTimeOffset>();
        foreach (var b in bars)
        {
            if (string.IsNullOrWhiteSpace(b.Symbol)) { problems.Add("a bar has an empty symbol"); continue; }
            var key = (b.Symbol, b.Interval);
            var reason = Check(b.Bar, b.Interval)
                ?? CheckOrder(last.TryGetValue(key, out var t) ? t : null, b.Bar);
            if (reason is not null) problems.Add($"{b.Symbol} {b.Interval} {Iso(b.Bar.Time)}: {reason}");
            else last[key] = b.Bar.Time;
        }
        return problems;
    }

    public static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    private static bool Positive(double v) => double.IsFinite(v) && v > 0;

    private static string Show(double v) => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
}
