using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Platform.DaprSidecar.Testing;

/// <summary>
/// HTTP service invocation as daprd serves it on its HTTP port: a request naming its target with the <c>dapr-app-id</c>
/// header (the path is the method) or as <c>/v1.0/invoke/{appId}/method/{method}</c> goes to one replica of that app id,
/// path and query unchanged. The caller's sidecar resolves the app id to the sidecars of that id whose app is connected,
/// round robin; the callee's sidecar calls its app over HTTP. Headers travel as daprd passes them: hop-by-hop headers
/// (and those the <c>Connection</c> header names) dropped both ways, <c>dapr-app-id</c> removed, <c>dapr-api-token</c> set
/// to <c>APP_API_TOKEN</c> on the way to the app when one is configured, <c>dapr-caller-app-id</c>,
/// <c>dapr-callee-app-id</c> and the <c>X-Forwarded-*</c>/<c>Forwarded</c> headers added, the answer's
/// <c>Content-Length</c> dropped and its body streamed back. Failures answer as daprd's do: 500 <c>ERR_DIRECT_INVOKE</c>
/// when the app id resolves to nothing or the callee cannot reach its app (gRPC <c>Internal</c> between the sidecars,
/// never retried), and a callee sidecar that has stopped is <c>Unavailable</c>, retried by daprd's built-in service
/// invocation policy (3 retries, 1 s apart) on a fresh resolution. The hop between the two sidecars is an in-process call
/// here, where daprd uses gRPC with mTLS.
/// </summary>
public sealed partial class FaithfulSidecar
{
    private const int BuiltInRetries = 3;
    private static readonly TimeSpan BuiltInRetryInterval = TimeSpan.FromSeconds(1);

    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "HTTP2-Settings", "TE", "Trailer",
        "Proxy-Authorization", "Proxy-Authenticate",
    };

    /// <summary>The target app id and method of an invocation, or null when the request names none (daprd: §5).</summary>
    private static (string AppId, string Method)? InvocationTarget(HttpRequest request)
    {
        var path = request.Path.Value ?? "/";
        if (request.Headers["dapr-app-id"].ToString() is { Length: > 0 } appId)
        {
            request.Headers.Remove("dapr-app-id");
            return (appId, CleanMethod(path));
        }
        const string prefix = "/v1.0/invoke/";
        if (!path.StartsWith(prefix, StringComparison.Ordinal)) return null;
        var rest = path[prefix.Length..];
        var separator = rest.IndexOf("/method/", StringComparison.Ordinal);
        if (separator <= 0) return null;
        return (Uri.UnescapeDataString(rest[..separator]), CleanMethod(rest[(separator + "/method/".Length)..]));
    }

    /// <summary>Go's <c>path.Clean</c> without the leading slash: empty and <c>.</c> segments dropped, <c>..</c> resolved.</summary>
    private static string CleanMethod(string path)
    {
        var segments = new List<string>();
        foreach (var segment in path.Split('/'))
        {
            if (segment is "" or ".") continue;
            if (segment == "..")
            {
                if (segments.Count > 0) segments.RemoveAt(segments.Count - 1);
                continue;
            }
            segments.Add(segment);
        }
        return string.Join('/', segments);
    }

    private async Task InvokeAsync(HttpContext context, string targetId, string method)
    {
        var request = context.Request;
        var body = new MemoryStream();
        await request.Body.CopyToAsync(body, context.RequestAborted);
        // daprd buffers (and may replay) a request whose length is known; a chunked one is streamed and never retried.
        var replayable = request.ContentLength is not null || body.Length == 0;
        HttpResponseMessage? response = null;
        for (var attempt = 0; response is null; attempt++)
        {
            var target = _cluster.Resolve(targetId);
            if (target is null && !_cluster.HasSidecar(targetId))
            {
                await WriteErrorAsync(context, StatusCodes.Status500InternalServerError, "ERR_DIRECT_INVOKE",
                    $"failed to invoke, id: {targetId}, err: couldn't find service: {targetId}");
                return;
            }
            try
            {
                response = target is null
                    ? throw new SidecarUnavailableException($"no running sidecar for app id {targetId}")
                    : await target.CallAppAsync(AppId, method, request, body.ToArray(), context.RequestAborted);
            }
            catch (SidecarUnavailableException ex)
            {
                if (attempt >= BuiltInRetries || !replayable)
                {
                    await WriteErrorAsync(context, StatusCodes.Status500InternalServerError, "ERR_DIRECT_INVOKE",
                        $"failed to invoke, id: {targetId}, err: failed to invoke target {targetId} after {attempt} retries. Error: rpc error: code = Unavailable desc = {ex.Message}");
                    return;
                }
                await Task.Delay(BuiltInRetryInterval, context.RequestAborted);
            }
            catch (Exception ex) when (ex is HttpRequestException or ObjectDisposedException
                || (ex is OperationCanceledException && !context.RequestAborted.IsCancellationRequested))
            {
                await WriteErrorAsync(context, StatusCodes.Status500InternalServerError, "ERR_DIRECT_INVOKE",
                    $"failed to invoke, id: {targetId}, err: rpc error: code = Internal desc = error invoking app channel: {ex.Message}");
                return;
            }
        }

        using (response)
        {
            context.Response.StatusCode = (int)response.StatusCode;
            var nominated = Nominated(response.Headers.TryGetValues("Connection", out var connection) ? connection : []);
            IEnumerable<KeyValuePair<string, IEnumerable<string>>> headers = response.Headers;
            foreach (var (name, values) in headers.Concat(response.Content.Headers))
            {
                if (HopByHop.Contains(name) || nominated.Contains(name) || name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)) continue;
                context.Response.Headers[name] = values.ToArray();
            }
            try
            {
                await using var stream = await response.Content.ReadAsStreamAsync(context.RequestAborted);
                var buffer = new byte[16 * 1024];
                int read;
                while ((read = await stream.ReadAsync(buffer, context.RequestAborted)) > 0)
                {
                    await context.Response.Body.WriteAsync(buffer.AsMemory(0, read), context.RequestAborted);
                    await context.Response.Body.FlushAsync(context.RequestAborted);
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or ObjectDisposedException or OperationCanceledException)
            {
                // The status line has gone out: as daprd, cut the answer short rather than append an error to it.
                context.Abort();
            }
        }
    }

    /// <summary>
    /// The callee's half: calls this sidecar's app with the request as the caller's sidecar received it. Throws
    /// <see cref="SidecarUnavailableException"/> when this sidecar has stopped (the caller's sidecar could not connect),
    /// and the HTTP client's exception when the app does not answer.
    /// </summary>
    private async Task<HttpResponseMessage> CallAppAsync(string callerId, string method, HttpRequest incoming, byte[] body, CancellationToken cancel)
    {
        if (!AcceptsInvocations) throw new SidecarUnavailableException($"connection error: sidecar of {AppId} is not running");
        var uri = new Uri(_appAddress!, method + incoming.QueryString.Value);
        using var request = new HttpRequestMessage(new HttpMethod(incoming.Method), uri);
        if (body.Length > 0 || incoming.ContentLength is not null)
        {
            request.Content = new ByteArrayContent(body);
        }
        var nominated = Nominated(incoming.Headers.Connection);
        foreach (var (name, values) in incoming.Headers)
        {
            if (HopByHop.Contains(name) || nominated.Contains(name)) continue;
            if (name.Equals("Host", StringComparison.OrdinalIgnoreCase) || name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)) continue;
            if (name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, values.ToArray());
                continue;
            }
            request.Headers.TryAddWithoutValidation(name, values.ToArray());
        }
        request.Headers.Remove("dapr-caller-app-id");
        request.Headers.Remove("dapr-callee-app-id");
        request.Headers.TryAddWithoutValidation("dapr-caller-app-id", callerId);
        request.Headers.TryAddWithoutValidation("dapr-callee-app-id", AppId);
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", "127.0.0.1");
        request.Headers.TryAddWithoutValidation("X-Forwarded-Host", Environment.MachineName);
        request.Headers.TryAddWithoutValidation("Forwarded", $"for=127.0.0.1;by=127.0.0.1;host={Environment.MachineName}");
        if (_cluster.Options.AppApiToken is { } token)
        {
            request.Headers.Remove("dapr-api-token");
            request.Headers.TryAddWithoutValidation("dapr-api-token", token);
        }
        return await _appClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel);
    }

    /// <summary>Header names a <c>Connection</c> header nominates as hop-by-hop (RFC 7230 §6.1).</summary>
    private static HashSet<string> Nominated(IEnumerable<string?> connection) =>
        connection.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            .ToHashSet(StringComparer.OrdinalIgnoreCase);

    private static async Task WriteErrorAsync(HttpContext context, int status, string errorCode, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(new Dictionary<string, string> { ["errorCode"] = errorCode, ["message"] = message }));
    }

    private sealed class SidecarUnavailableException(string message) : Exception(message);
}
