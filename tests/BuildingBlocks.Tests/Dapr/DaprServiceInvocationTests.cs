using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Platform.BuildingBlocks.Tests.Dapr;

/// <summary>
/// HTTP service invocation through the faithful sidecar, as the gateway uses it in Kubernetes: a call to the caller's
/// sidecar naming the app in <c>dapr-app-id</c> reaches a replica of that app with the app token, without the header, and
/// its answer comes back; failures answer as daprd does (§5).
/// </summary>
public sealed class DaprServiceInvocationTests : IAsyncLifetime
{
    private const string AppToken = "app-token-for-invocation";
    private readonly SidecarCluster _cluster = new(new SidecarClusterOptions { AppApiToken = AppToken });
    private readonly List<WebApplication> _apps = [];
    private readonly HttpClient _http = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _http.Dispose();
        foreach (var app in _apps) await app.DisposeAsync();
        await _cluster.DisposeAsync();
    }

    /// <summary>An app that answers every path with what it received: its name, method, path, query, headers and body.</summary>
    private async Task<(WebApplication App, FaithfulSidecar Sidecar)> StartEchoAsync(string appId, string name)
    {
        var sidecar = await _cluster.StartSidecarAsync(appId);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapGet("/dapr/subscribe", () => Results.Json(Array.Empty<object>()));
        app.Map("/{**rest}", async (HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            context.Response.Headers["X-Replica"] = name;
            return Results.Json(new
            {
                replica = name,
                method = context.Request.Method,
                path = context.Request.Path.Value,
                query = context.Request.QueryString.Value,
                headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString()),
                body,
            }, statusCode: context.Request.Query.ContainsKey("status") ? int.Parse(context.Request.Query["status"]!, System.Globalization.CultureInfo.InvariantCulture) : 200);
        });
        await app.StartAsync();
        _apps.Add(app);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        await sidecar.ConnectAppAsync(new Uri(address));
        return (app, sidecar);
    }

    private Task<HttpResponseMessage> InvokeAsync(FaithfulSidecar caller, string appId, HttpMethod method, string path, string? body = null)
    {
        var request = new HttpRequestMessage(method, $"http://127.0.0.1:{caller.HttpPort}{path}");
        request.Headers.Add("dapr-app-id", appId);
        request.Headers.Add("Connection", "X-Hop");
        request.Headers.Add("X-Hop", "dropped");
        request.Headers.Add("X-End-To-End", "kept");
        if (body is not null) request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        return _http.SendAsync(request);
    }

    private static async Task<JsonElement> EchoAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    [Fact]
    public async Task Invoke_DaprAppIdHeader_ForwardsPathQueryBodyWithAppTokenAndWithoutHopByHopHeaders()
    {
        var gateway = await _cluster.StartSidecarAsync("gateway");
        await StartEchoAsync("serving", "serving-1");

        using var response = await InvokeAsync(gateway, "serving", HttpMethod.Post, "/v1/predictions?model=m1", "{\"symbol\":\"ALPHA\"}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("serving-1", response.Headers.GetValues("X-Replica").Single());
        var echo = await EchoAsync(response);
        Assert.Equal("POST", echo.GetProperty("method").GetString());
        Assert.Equal("/v1/predictions", echo.GetProperty("path").GetString());
        Assert.Equal("?model=m1", echo.GetProperty("query").GetString());
        Assert.Equal("{\"symbol\":\"ALPHA\"}", echo.GetProperty("body").GetString());
        var headers = echo.GetProperty("headers");
        Assert.Equal(AppToken, headers.GetProperty("dapr-api-token").GetString());
        Assert.Equal("gateway", headers.GetProperty("dapr-caller-app-id").GetString());
        Assert.Equal("serving", headers.GetProperty("dapr-callee-app-id").GetString());
        Assert.Equal("kept", headers.GetProperty("x-end-to-end").GetString());
        Assert.StartsWith("application/json", headers.GetProperty("content-type").GetString());
        Assert.False(headers.TryGetProperty("dapr-app-id", out _));
        Assert.False(headers.TryGetProperty("x-hop", out _));
    }

    [Fact]
    public async Task Invoke_InvokeUrlForm_ForwardsTheMethodPath()
    {
        var gateway = await _cluster.StartSidecarAsync("gateway");
        await StartEchoAsync("training", "training-1");

        using var response = await _http.GetAsync($"http://127.0.0.1:{gateway.HttpPort}/v1.0/invoke/training/method/v1/models?stage=Production");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var echo = await EchoAsync(response);
        Assert.Equal("/v1/models", echo.GetProperty("path").GetString());
        Assert.Equal("?stage=Production", echo.GetProperty("query").GetString());
    }

    [Fact]
    public async Task Invoke_AppAnswersAnError_StatusAndBodyPassedThrough()
    {
        var gateway = await _cluster.StartSidecarAsync("gateway");
        await StartEchoAsync("serving", "serving-1");

        using var response = await InvokeAsync(gateway, "serving", HttpMethod.Get, "/v1/serving/models?status=404");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("serving-1", (await EchoAsync(response)).GetProperty("replica").GetString());
    }

    [Fact]
    public async Task Invoke_TwoReplicas_AlternatesBetweenThem()
    {
        var gateway = await _cluster.StartSidecarAsync("gateway");
        await StartEchoAsync("serving", "serving-1");
        await StartEchoAsync("serving", "serving-2");

        var replicas = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            using var response = await InvokeAsync(gateway, "serving", HttpMethod.Get, "/v1/serving/models");
            replicas.Add(response.Headers.GetValues("X-Replica").Single());
        }

        Assert.Equal(2, replicas.Distinct().Count());
        Assert.NotEqual(replicas[0], replicas[1]);
        Assert.Equal(replicas[0], replicas[2]);
    }

    [Fact]
    public async Task Invoke_UnknownAppId_Answers500DirectInvoke()
    {
        var gateway = await _cluster.StartSidecarAsync("gateway");

        using var response = await InvokeAsync(gateway, "nobody", HttpMethod.Get, "/v1/anything");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("ERR_DIRECT_INVOKE", (await EchoAsync(response)).GetProperty("errorCode").GetString());
    }

    [Fact]
    public async Task Invoke_AppGoneButItsSidecarRunning_CallsRoutedThereAnswer500DirectInvokeNotRetriedElsewhere()
    {
        var gateway = await _cluster.StartSidecarAsync("gateway");
        await StartEchoAsync("serving", "serving-1");
        var (app, _) = await StartEchoAsync("serving", "serving-2");
        await app.StopAsync();

        var answers = new List<(HttpStatusCode Status, string Body)>();
        for (var i = 0; i < 2; i++)
        {
            using var response = await InvokeAsync(gateway, "serving", HttpMethod.Get, "/v1/serving/models");
            answers.Add((response.StatusCode, await response.Content.ReadAsStringAsync()));
        }

        Assert.Single(answers, a => a.Status == HttpStatusCode.OK);
        var failed = Assert.Single(answers, a => a.Status == HttpStatusCode.InternalServerError);
        var error = JsonDocument.Parse(failed.Body).RootElement;
        Assert.Equal("ERR_DIRECT_INVOKE", error.GetProperty("errorCode").GetString());
        Assert.Contains("error invoking app channel", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Invoke_EverySidecarOfTheAppStopped_Answers500DirectInvokeUnavailableAfterTheBuiltInRetries()
    {
        var gateway = await _cluster.StartSidecarAsync("gateway");
        var (app, sidecar) = await StartEchoAsync("serving", "serving-1");
        await app.StopAsync();
        await sidecar.DisposeAsync();

        using var response = await InvokeAsync(gateway, "serving", HttpMethod.Get, "/v1/serving/models");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var error = await EchoAsync(response);
        Assert.Equal("ERR_DIRECT_INVOKE", error.GetProperty("errorCode").GetString());
        Assert.Contains("after 3 retries", error.GetProperty("message").GetString());
        Assert.Contains("Unavailable", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Invoke_ReplicaWhoseSidecarStopped_OnlyTheOtherReplicaAnswers()
    {
        var gateway = await _cluster.StartSidecarAsync("gateway");
        await StartEchoAsync("serving", "serving-1");
        var (app, sidecar) = await StartEchoAsync("serving", "serving-2");
        await app.StopAsync();
        await sidecar.DisposeAsync();

        for (var i = 0; i < 3; i++)
        {
            using var response = await InvokeAsync(gateway, "serving", HttpMethod.Get, "/v1/serving/models");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("serving-1", response.Headers.GetValues("X-Replica").Single());
        }
    }

    [Fact]
    public async Task Invoke_NoAppIdAnywhere_Answers404AndRecordsAViolation()
    {
        var gateway = await _cluster.StartSidecarAsync("gateway");

        using var response = await _http.GetAsync($"http://127.0.0.1:{gateway.HttpPort}/v1/predictions");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("ERR_DIRECT_INVOKE", (await EchoAsync(response)).GetProperty("errorCode").GetString());
        Assert.Single(_cluster.Violations);
        _cluster.ClearViolations();
    }

    [Fact]
    public async Task Invoke_ApiTokenConfiguredAndMissing_Answers401()
    {
        await using var cluster = new SidecarCluster(new SidecarClusterOptions { ApiToken = "api-token" });
        var gateway = await cluster.StartSidecarAsync("gateway");

        using var response = await InvokeAsync(gateway, "serving", HttpMethod.Get, "/v1/serving/models");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
