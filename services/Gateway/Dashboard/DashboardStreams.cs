using System.Text.Json;
using Platform.Gateway.Pipeline;

namespace Platform.Gateway.Dashboard;

/// <summary>The dashboard's non-page endpoints: a backtest's progress as server-sent events, and a model's stored files.</summary>
internal static class DashboardStreams
{
    private static readonly TimeSpan PollEvery = TimeSpan.FromMilliseconds(500);

    public static IEndpointRouteBuilder MapDashboardStreams(this IEndpointRouteBuilder app)
    {
        app.MapGet(DashboardExtensions.BasePath + "/backtests/{id}/events", BacktestEventsAsync).ExcludeFromDescription();
        app.MapGet(DashboardExtensions.BasePath + "/models/{name}/versions/{version}/files/{file}", ModelFileAsync).ExcludeFromDescription();
        return app;
    }

    /// <summary>
    /// <c>text/event-stream</c>: one <c>progress</c> event (status, progress 0..1) whenever either changes, and a last
    /// <c>done</c> event when the run has ended (completed, failed or terminated); the page then loads the report.
    /// </summary>
    private static async Task BacktestEventsAsync(string id, HttpContext context, GatewayApi api)
    {
        if (await DashboardSession.ReadAsync(context) is not { } session)
        {
            await GatewayProblems.WriteAsync(context, StatusCodes.Status401Unauthorized, "Unauthorized", "Sign in to the dashboard first.");
            return;
        }
        var ct = context.RequestAborted;
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        string? last = null;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var answer = await api.GetAsync(session, $"/v1/backtests/{Uri.EscapeDataString(id)}", ct);
                if (!answer.Ok)
                {
                    await WriteAsync(context, "error", JsonSerializer.Serialize(new { problem = answer.Problem }), ct);
                    return;
                }
                var status = answer.Body.Str("status") ?? "unknown";
                var data = JsonSerializer.Serialize(new { status, progress = answer.Body.Num("progress") ?? 0, error = answer.Body.Str("error") });
                if (data != last) await WriteAsync(context, "progress", data, ct);
                last = data;
                if (status is "completed" or "failed" or "terminated")
                {
                    await WriteAsync(context, "done", data, ct);
                    return;
                }
                await Task.Delay(PollEvery, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The browser went away.
        }
    }

    private static async Task WriteAsync(HttpContext context, string name, string data, CancellationToken ct)
    {
        await context.Response.WriteAsync($"event: {name}\ndata: {data}\n\n", ct);
        await context.Response.Body.FlushAsync(ct);
    }

    private static async Task<IResult> ModelFileAsync(string name, string version, string file, HttpContext context, GatewayApi api)
    {
        if (await DashboardSession.ReadAsync(context) is not { } session)
            return TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized", detail: "Sign in to the dashboard first.");
        var (status, mediaType, content) = await api.GetRawAsync(session,
            $"/v1/models/{Uri.EscapeDataString(name)}/versions/{Uri.EscapeDataString(version)}/files/{Uri.EscapeDataString(file)}", context.RequestAborted);
        if (status != StatusCodes.Status200OK)
            return TypedResults.Problem(statusCode: status, title: "The file could not be read.", detail: $"The API answered {status} for {name} v{version} {file}.");
        // Served as plain text or an image only, never as a page of its own.
        var type = mediaType is "image/png" ? "image/png" : "text/plain; charset=utf-8";
        return TypedResults.File(content, type);
    }
}
