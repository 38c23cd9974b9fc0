using System.Globalization;
using System.Text.Json;
using Platform.BuildingBlocks.Secrets;
using Platform.Quant;

namespace Platform.MarketData.Providers;

/// <summary>
/// Polygon.io aggregates (<c>GET /v2/aggs/ticker/{ticker}/range/{multiplier}/{timespan}/{from}/{to}</c>): bars with
/// open-time <c>t</c> in Unix milliseconds, paged through <c>next_url</c>, API key as <c>apiKey</c>, HTTP 429 when
/// throttled. Daily aggregates start at midnight New York time; they are keyed by that trading date.
/// </summary>
public sealed class PolygonProvider(HttpClient http, ProviderOptions options, ISecretStore secrets, TimeProvider clock)
    : HttpBarProvider("Polygon", http, options, secrets, clock), IBarProvider
{
    public const string DefaultBaseUrl = "https://api.polygon.io";
    private static readonly TimeZoneInfo NewYork = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");

    public async Task<IReadOnlyList<Bar>> FetchAsync(string symbol, BarInterval interval, DateOnly from, DateOnly to, CancellationToken ct = default)
    {
        var key = await ApiKeyAsync(ct);
        var (multiplier, timespan) = Span(interval);
        var url = $"{Options.BaseUrl!.TrimEnd('/')}/v2/aggs/ticker/{Uri.EscapeDataString(symbol.ToUpperInvariant())}/range/{multiplier}/{timespan}/{Iso(from)}/{Iso(to)}"
            + $"?adjusted=true&sort=asc&limit=50000&apiKey={Uri.EscapeDataString(key)}";
        var bars = new List<Bar>();
        for (var page = 0; url is not null; page++)
        {
            if (page > 10_000) throw new ProviderException(Name, "more than 10000 pages: stopping.");
            using var doc = JsonDocument.Parse(await GetAsync(url, ct));
            var root = doc.RootElement;
            var status = root.TryGetProperty("status", out var s) ? s.GetString() : null;
            if (status is "ERROR" or "NOT_AUTHORIZED")
                throw new ProviderException(Name, root.TryGetProperty("error", out var e) ? e.GetString() ?? status : status);
            if (root.TryGetProperty("results", out var results) && results.ValueKind == JsonValueKind.Array)
            {
                foreach (var r in results.EnumerateArray())
                {
                    var t = DateTimeOffset.FromUnixTimeMilliseconds(r.GetProperty("t").GetInt64());
                    if (interval.Length >= TimeSpan.FromDays(1))
                        t = new DateTimeOffset(TimeZoneInfo.ConvertTime(t, NewYork).Date, TimeSpan.Zero);
                    bars.Add(new Bar(t, r.GetProperty("o").GetDouble(), r.GetProperty("h").GetDouble(), r.GetProperty("l").GetDouble(),
                        r.GetProperty("c").GetDouble(), r.TryGetProperty("v", out var v) ? v.GetDouble() : 0,
                        Vwap: r.TryGetProperty("vw", out var vw) ? vw.GetDouble() : null));
                }
            }
            url = root.TryGetProperty("next_url", out var next) && next.GetString() is { Length: > 0 } n
                ? n + (n.Contains('?') ? "&" : "?") + "apiKey=" + Uri.EscapeDataString(key)
                : null;
        }
        return bars;
    }

    private static (int Multiplier, string Timespan) Span(BarInterval interval)
    {
        var n = int.Parse(interval.Name[..^1], CultureInfo.InvariantCulture);
        return interval.Name[^1] switch
        {
            'm' => (n, "minute"),
            'h' => (n, "hour"),
            'd' => (n, "day"),
            'w' => (n, "week"),
            _ => throw new ProviderRequestException("Polygon", $"interval {interval} is not offered."),
        };
    }
}
