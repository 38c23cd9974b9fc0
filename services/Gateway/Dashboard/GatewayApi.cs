using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Platform.Gateway.Identity;

namespace Platform.Gateway.Dashboard;

/// <summary><c>Dashboard:*</c> settings.</summary>
public sealed class DashboardOptions
{
    /// <summary>Where the dashboard reaches the gateway's public API; empty: this gateway's own first listening address.</summary>
    public string? GatewayUrl { get; set; }
    /// <summary>Most candles the Market page sends to the browser; longer ranges are aggregated on the server.</summary>
    public int MaxCandles { get; set; } = 1500;
    /// <summary>How long a session lasts without use.</summary>
    public TimeSpan SessionIdle { get; set; } = TimeSpan.FromHours(8);
    /// <summary>
    /// Longest a page waits for one call to the API. A call without an answer by then shows in the page as a 504 problem
    /// (the page still renders), so one slow service cannot hold a page open.
    /// </summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>An answer of the gateway's API: its status and JSON body (a problem's title and detail when it failed).</summary>
public sealed record ApiAnswer(int Status, JsonElement Body)
{
    public bool Ok => Status is >= 200 and < 300;

    /// <summary>A problem details answer as one line: title, detail and field errors.</summary>
    public string Problem
    {
        get
        {
            if (Body.ValueKind != JsonValueKind.Object) return $"HTTP {Status}";
            var parts = new List<string>();
            if (Body.Str("title") is { } title) parts.Add(title);
            if (Body.Str("detail") is { } detail) parts.Add(detail);
            if (Body.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Object)
                foreach (var e in errors.EnumerateObject())
                    parts.Add($"{e.Name}: {string.Join(" ", e.Value.ValueKind == JsonValueKind.Array ? e.Value.EnumerateArray().Select(v => v.ToString()) : [e.Value.ToString()])}");
            return parts.Count > 0 ? $"{Status}: {string.Join(" — ", parts)}" : $"HTTP {Status}";
        }
    }
}

/// <summary>
/// The gateway's public API, called over HTTP with the signed-in user's own credential: every route, scope check and
/// rate limit applies to the dashboard exactly as to any other client.
/// </summary>
public sealed class GatewayApi(IHttpClientFactory factory, IServer server, Microsoft.Extensions.Options.IOptions<DashboardOptions> options,
    IConfiguration configuration)
{
    public const string ClientName = "dashboard-gateway";
    private Uri? _base;

    public Task<ApiAnswer> GetAsync(DashboardSession session, string pathAndQuery, CancellationToken ct) =>
        SendAsync(session, HttpMethod.Get, pathAndQuery, null, ct);

    public Task<ApiAnswer> PostAsync(DashboardSession session, string path, object? body, CancellationToken ct) =>
        SendAsync(session, HttpMethod.Post, path, body is null ? null : JsonContent.Create(body, options: JsonView.Options), ct);

    public async Task<ApiAnswer> SendAsync(DashboardSession session, HttpMethod method, string pathAndQuery, HttpContent? content, CancellationToken ct)
    {
        using var request = Request(session, method, pathAndQuery);
        request.Content = content;
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var bound = Bound(ct);
        try
        {
            using var response = await factory.CreateClient(ClientName).SendAsync(request, HttpCompletionOption.ResponseContentRead, bound.Token);
            var bytes = await response.Content.ReadAsByteArrayAsync(bound.Token);
            JsonElement body = default;
            if (bytes.Length > 0 && (response.Content.Headers.ContentType?.MediaType?.Contains("json", StringComparison.OrdinalIgnoreCase) ?? false))
                body = JsonDocument.Parse(bytes).RootElement.Clone();
            return new ApiAnswer((int)response.StatusCode, body);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new ApiAnswer(StatusCodes.Status504GatewayTimeout, NoAnswer(method, pathAndQuery));
        }
    }

    /// <summary>Streams a non-JSON answer (a model card, a plot) to the browser as it came; 504 without an answer in time.</summary>
    public async Task<(int Status, string? MediaType, byte[] Content)> GetRawAsync(DashboardSession session, string pathAndQuery, CancellationToken ct)
    {
        using var request = Request(session, HttpMethod.Get, pathAndQuery);
        using var bound = Bound(ct);
        try
        {
            using var response = await factory.CreateClient(ClientName).SendAsync(request, bound.Token);
            return ((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, await response.Content.ReadAsByteArrayAsync(bound.Token));
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return (StatusCodes.Status504GatewayTimeout, "application/problem+json", JsonSerializer.SerializeToUtf8Bytes(NoAnswer(HttpMethod.Get, pathAndQuery)));
        }
    }

    private HttpRequestMessage Request(DashboardSession session, HttpMethod method, string pathAndQuery)
    {
        var request = new HttpRequestMessage(method, new Uri(BaseAddress, pathAndQuery));
        if (session.Kind == "jwt") request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", session.Credential);
        else request.Headers.Add(GatewaySchemes.ApiKeyHeader, session.Credential);
        return request;
    }

    private CancellationTokenSource Bound(CancellationToken ct)
    {
        var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(options.Value.CallTimeout);
        return bound;
    }

    /// <summary>The problem a call without an answer within <see cref="DashboardOptions.CallTimeout"/> shows in the page.</summary>
    private JsonElement NoAnswer(HttpMethod method, string pathAndQuery)
    {
        var seconds = options.Value.CallTimeout.TotalSeconds;
        var detail = $"{method} {pathAndQuery.Split('?')[0]} did not answer within {seconds:0.###} s (Dashboard:CallTimeout)."
            + (method == HttpMethod.Get ? " Reload the page to try again." : " The change may still take effect; reload the page to see.");
        return JsonSerializer.SerializeToElement(new { title = "No answer in time", status = StatusCodes.Status504GatewayTimeout, detail });
    }

    private Uri BaseAddress => _base ??= Resolve();

    private Uri Resolve()
    {
        if (options.Value.GatewayUrl is { Length: > 0 } configured) return new Uri(configured.TrimEnd('/') + "/");
        // Not the management port (Management:Port), which answers nothing but /metrics and /health.
        var management = configuration.GetValue<int?>("Management:Port");
        var addresses = (server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [])
            .Where(a => management is not { } m || !a.EndsWith($":{m}", StringComparison.Ordinal)).ToList();
        var address = addresses.FirstOrDefault(a => a.StartsWith("http://", StringComparison.Ordinal)) ?? addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("The gateway has no listening address yet; set Dashboard:GatewayUrl.");
        // A wildcard listener ("http://+:8080", "http://[::]:8080", "http://0.0.0.0:8080") is reached on loopback.
        var uri = new UriBuilder(address.Replace("://+", "://localhost", StringComparison.Ordinal).Replace("://*", "://localhost", StringComparison.Ordinal));
        if (uri.Host is "0.0.0.0" or "[::]" or "::") uri.Host = "127.0.0.1";
        uri.Path = "/";
        return uri.Uri;
    }
}

/// <summary>Reading the API's JSON without a type per answer: the pages show a few fields of many shapes.</summary>
public static class JsonView
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public static JsonElement Prop(this JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? v : default;

    public static string? Str(this JsonElement e, string name) => e.Prop(name) is { ValueKind: not JsonValueKind.Undefined and not JsonValueKind.Null } v
        ? v.ValueKind == JsonValueKind.String ? v.GetString() : v.ToString() : null;

    public static double? Num(this JsonElement e, string name) =>
        e.Prop(name) is { ValueKind: JsonValueKind.Number } v ? v.GetDouble() : null;

    public static IEnumerable<JsonElement> Items(this JsonElement e, string? name = null)
    {
        var array = name is null ? e : e.Prop(name);
        return array.ValueKind == JsonValueKind.Array ? array.EnumerateArray() : [];
    }

    public static DateTimeOffset? Time(this JsonElement e, string name) =>
        e.Str(name) is { } text && DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var t) ? t : null;

    public static string Fmt(double? value, string format = "0.####") =>
        value is { } v && double.IsFinite(v) ? v.ToString(format, System.Globalization.CultureInfo.InvariantCulture) : "–";

    public static string Fmt(DateTimeOffset? value) => value?.UtcDateTime.ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture) ?? "–";

    /// <summary>Serialises chart data into a page's <c>script type="application/json"</c> block (HTML-safe escaping).</summary>
    public static string ForPage(object value) => JsonSerializer.Serialize(value, Options);
}
