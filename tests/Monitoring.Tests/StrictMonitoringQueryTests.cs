using System.Net;
using System.Text.Json;

namespace Platform.Monitoring.Tests;

/// <summary>
/// Monitoring queries a strict API refuses with 400 problem details: a model name no model can have (on every model route),
/// a drift limit out of range (it used to be clamped silently), and more quality windows than a request may ask for, or
/// one given twice. The valid forms of the same queries are answered.
/// </summary>
public sealed class StrictMonitoringQueryTests : IAsyncLifetime
{
    private MonitoringHost _host = null!;

    public async Task InitializeAsync() =>
        _host = await MonitoringHost.StartAsync(new Dictionary<string, string?> { ["Monitoring:Drift:Enabled"] = "false" });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    public static TheoryData<string, string> Refused() => new()
    {
        { "/v1/monitoring/models/..%2F..%2Fapikeys%2Findex/predictions", "model" },
        { "/v1/monitoring/models/a%2Fb/drift", "model" },
        { "/v1/monitoring/models/%01/predictions", "model" },
        { "/v1/monitoring/models/%20/drift", "model" },
        { "/v1/monitoring/models/Upper/quality", "model" },
        { "/v1/monitoring/models/" + new string('x', 3000) + "/predictions", "model" },
        { "/v1/monitoring/models/ret/drift?limit=-1", "limit" },
        { "/v1/monitoring/models/ret/drift?limit=0", "limit" },
        { "/v1/monitoring/models/ret/drift?limit=1001", "limit" },
        { "/v1/monitoring/models/ret/quality?windows=" + string.Join(",", Enumerable.Range(2, 21)), "windows" },
        { "/v1/monitoring/models/ret/quality?windows=" + string.Join(",", Enumerable.Repeat("50", 2000)), "windows" },
        { "/v1/monitoring/models/ret/quality?windows=20,60,20", "windows" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task Get_InvalidModelNameLimitOrWindows_Returns400NamingIt(string path, string key)
    {
        using var response = await _host.Http.GetAsync(_host.Url + path);

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.True(JsonDocument.Parse(body).RootElement.GetProperty("errors").TryGetProperty(key, out _), body);
    }

    [Theory]
    [InlineData("/v1/monitoring/models/ret/drift?limit=1000")]
    [InlineData("/v1/monitoring/models/ret/drift")]
    [InlineData("/v1/monitoring/models/no-such-model/predictions")]
    public async Task Get_ValidQuery_Returns200(string path)
    {
        using var response = await _host.Http.GetAsync(_host.Url + path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
