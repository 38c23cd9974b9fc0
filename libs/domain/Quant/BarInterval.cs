using System.Globalization;

namespace Platform.Quant;

/// <summary>
/// A bar interval such as 1m, 5m, 1h or 1d. Bar open times must be aligned to it (multiples of the
/// interval since the Unix epoch, in UTC).
/// </summary>
public readonly record struct BarInterval
{
    private BarInterval(string name, TimeSpan length) { Name = name; Length = length; }

    public string Name { get; }
    public TimeSpan Length { get; }

    public static readonly BarInterval OneMinute = new("1m", TimeSpan.FromMinutes(1));
    public static readonly BarInterval FiveMinutes = new("5m", TimeSpan.FromMinutes(5));
    public static readonly BarInterval OneHour = new("1h", TimeSpan.FromHours(1));
    public static readonly BarInterval OneDay = new("1d", TimeSpan.FromDays(1));

    public static BarInterval Parse(string text) =>
        TryParse(text, out var interval)
            ? interval
            : throw new FormatException($"Unknown interval '{text}'. Use a number followed by m, h, d or w (for example 1m, 5m, 1h, 1d).");

    public static bool TryParse(string? text, out BarInterval interval)
    {
        interval = default;
        if (string.IsNullOrWhiteSpace(text) || text.Length < 2) return false;
        var unit = char.ToLowerInvariant(text[^1]);
        if (!int.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0)
            return false;
        TimeSpan? length = unit switch
        {
            'm' when n < 60 * 24 => TimeSpan.FromMinutes(n),
            'h' when n <= 24 => TimeSpan.FromHours(n),
            'd' when n <= 7 => TimeSpan.FromDays(n),
            'w' when n == 1 => TimeSpan.FromDays(7),
            _ => null,
        };
        if (length is null) return false;
        interval = new BarInterval(n.ToString(CultureInfo.InvariantCulture) + unit, length.Value);
        return true;
    }

    /// <summary>True when <paramref name="time"/> is an exact multiple of the interval since the epoch (daily bars: midnight UTC).</summary>
    public bool IsAligned(DateTimeOffset time)
    {
        if (Length >= TimeSpan.FromDays(7)) return time.UtcDateTime.TimeOfDay == TimeSpan.Zero;
        return (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) % Length.Ticks == 0;
    }

    /// <summary>Approximate number of bars in a year, for annualising (252 trading days for daily bars).</summary>
    public double BarsPerYear => Length >= TimeSpan.FromDays(1)
        ? 252.0 / Length.TotalDays
        : 252.0 * 6.5 * 60 / Length.TotalMinutes;

    public override string ToString() => Name;
}
