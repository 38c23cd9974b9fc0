using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Platform.Gateway.Dashboard;

namespace Platform.Dashboard.Tests;

/// <summary>The pages' API client against a real Kestrel server: one route that answers, one that never does.</summary>
public sealed class GatewayApiTests : IAsyncLifetime
{
    private static readonly DashboardSession Session = new("tester", "key", "pk_test.secret", []);
    private WebApplication _server = null!;
    private ServiceProvider _clients = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _server = builder.Build();
        _server.MapGet("/answers", () => Results.Json(new { ok = true }));
        _server.MapGet("/hangs", async (HttpContext http) =>
        {
            await Task.Delay(Timeout.Infinite, http.RequestAborted);
            return Results.Ok();
        });
        await _server.StartAsync();
        _clients = new ServiceCollection().AddHttpClient(GatewayApi.ClientName, c => c.Timeout = Timeout.InfiniteTimeSpan).Services.BuildServiceProvider();
    }

    public async Task DisposeAsync()
    {
        await _clients.DisposeAsync();
        await _server.StopAsync();
        await _server.DisposeAsync();
    }

    private GatewayApi Api(TimeSpan callTimeout) => new(_clients.GetRequiredService<IHttpClientFactory>(), _server.Services.GetRequiredService<IServer>(),
        Options.Create(new DashboardOptions { GatewayUrl = _server.Urls.First(), CallTimeout = callTimeout }), new ConfigurationBuilder().Build());

    [Fact]
    public async Task GetAsync_ServiceAnswersInTime_ReturnsItsStatusAndBody()
    {
        var answer = await Api(TimeSpan.FromSeconds(30)).GetAsync(Session, "/answers", CancellationToken.None);

        Assert.Equal(200, answer.Status);
        Assert.True(answer.Body.GetProperty("ok").GetBoolean());
    }

    [Fact]
    public async Task GetAsync_NoAnswerWithinCallTimeout_Returns504ProblemNamingTheCallAndTheSetting()
    {
        var answer = await Api(TimeSpan.FromMilliseconds(300)).GetAsync(Session, "/hangs?x=1", CancellationToken.None);

        Assert.Equal(504, answer.Status);
        Assert.Equal("504: No answer in time — GET /hangs did not answer within 0.3 s (Dashboard:CallTimeout). Reload the page to try again.", answer.Problem);
    }

    [Fact]
    public async Task GetRawAsync_NoAnswerWithinCallTimeout_Returns504ProblemJson()
    {
        var (status, mediaType, content) = await Api(TimeSpan.FromMilliseconds(300)).GetRawAsync(Session, "/hangs", CancellationToken.None);

        Assert.Equal(504, status);
        Assert.Equal("application/problem+json", mediaType);
        Assert.Contains("did not answer within 0.3 s", System.Text.Encoding.UTF8.GetString(content));
    }

    [Fact]
    public async Task GetAsync_CallerCancels_ThrowsInsteadOfAnswering504()
    {
        using var cancelled = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Api(TimeSpan.FromSeconds(30)).GetAsync(Session, "/hangs", cancelled.Token));
    }
}
