using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Platform.BuildingBlocks.Dapr;

/// <summary>When a call to the sidecar may be sent again after it failed in transport.</summary>
public enum DaprRetry
{
    /// <summary>One attempt (the caller has its own loop, e.g. the start-up health wait).</summary>
    None,

    /// <summary>
    /// Writes (save, delete, transaction, publish): only when the connection could not be established, i.e. the
    /// sidecar provably never saw the request. A timeout or a dropped connection is not retried: the write may have
    /// been applied, and replaying a last-write-wins save could overwrite a newer value written meanwhile.
    /// </summary>
    ConnectFailuresOnly,

    /// <summary>Reads (get, bulk get, secrets, metadata): also after a timeout or a dropped connection.</summary>
    AnyTransportFailure,
}

/// <summary>
/// A call to the sidecar failed: the sidecar answered with an error (<see cref="StatusCode"/> and, when its body
/// had one, Dapr's <see cref="ErrorCode"/>), answered something unreadable, or could not be reached.
/// </summary>
public sealed class DaprApiException(string message, int? statusCode, string? errorCode, Exception? inner = null)
    : Exception(message, inner)
{
    /// <summary>The HTTP status; null when no response arrived.</summary>
    public int? StatusCode { get; } = statusCode;

    /// <summary>Dapr's <c>errorCode</c>, or one of <see cref="DaprErrorCodes"/> for failures without one.</summary>
    public string? ErrorCode { get; } = errorCode;
}

/// <summary>Codes for failures the sidecar did not describe itself.</summary>
public static class DaprErrorCodes
{
    public const string Unavailable = "DAPR_UNAVAILABLE";
    public const string Timeout = "DAPR_TIMEOUT";
    public const string MalformedResponse = "DAPR_MALFORMED_RESPONSE";
}

/// <summary>
/// The one HTTP client of the sidecar API (§1.6): base address and <c>dapr-api-token</c> come from the named
/// <see cref="HttpClient"/> configured by <c>AddDaprRuntime</c>; this class adds per-attempt timeouts, the retry
/// rule of <see cref="DaprRetry"/>, and reading Dapr's error body (§1: branch on status, then <c>errorCode</c>).
/// </summary>
public sealed class DaprSidecarClient(IHttpClientFactory httpClientFactory, DaprOptions options, ILogger<DaprSidecarClient> logger)
{
    public const string HttpClientName = "dapr-sidecar";

    public static readonly MediaTypeHeaderValue JsonContentType = new("application/json");

    public DaprOptions Options => options;

    /// <summary>A request to send, possibly more than once: the body is kept as bytes and a fresh message built per attempt.</summary>
    public readonly record struct Call(HttpMethod Method, string Path, ReadOnlyMemory<byte> Body = default, string? IfMatch = null);

    /// <summary>
    /// Sends <paramref name="call"/> and returns the response with its body buffered; the caller maps the status.
    /// Throws <see cref="DaprApiException"/> (<see cref="DaprErrorCodes.Unavailable"/> or <see cref="DaprErrorCodes.Timeout"/>)
    /// when no response arrives after the allowed attempts.
    /// </summary>
    public async Task<HttpResponseMessage> SendAsync(Call call, DaprRetry retry, CancellationToken ct, TimeSpan? timeout = null)
    {
        var client = httpClientFactory.CreateClient(HttpClientName);
        for (var attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(call.Method, call.Path);
            if (!call.Body.IsEmpty || call.Method == HttpMethod.Post || call.Method == HttpMethod.Put)
            {
                request.Content = new ReadOnlyMemoryContent(call.Body);
                request.Content.Headers.ContentType = JsonContentType;
            }
            if (call.IfMatch is not null) request.Headers.TryAddWithoutValidation("If-Match", call.IfMatch);

            using var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            attemptCts.CancelAfter(timeout ?? options.RequestTimeout);
            DaprApiException failure;
            try
            {
                return await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, attemptCts.Token);
            }
            catch (OperationCanceledException ex) when (!ct.IsCancellationRequested)
            {
                failure = new DaprApiException(
                    $"The Dapr sidecar at {options.Endpoint} did not answer {call.Method} /{call.Path} within {(timeout ?? options.RequestTimeout).TotalMilliseconds:F0} ms.",
                    null, DaprErrorCodes.Timeout, ex);
                if (retry != DaprRetry.AnyTransportFailure || attempt >= options.MaxAttempts) throw failure;
            }
            catch (HttpRequestException ex)
            {
                failure = new DaprApiException(
                    $"The Dapr sidecar at {options.Endpoint} could not be reached for {call.Method} /{call.Path}: {ex.Message}",
                    null, DaprErrorCodes.Unavailable, ex);
                var notSent = ex.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError;
                if (retry == DaprRetry.None || (retry == DaprRetry.ConnectFailuresOnly && !notSent) || attempt >= options.MaxAttempts) throw failure;
            }
            var delay = options.RetryDelay * Math.Pow(2, attempt - 1);
            logger.LogWarning("Dapr call {Method} /{Path} failed (attempt {Attempt} of {MaxAttempts}, {Code}); retrying in {Delay} ms",
                call.Method, call.Path, attempt, options.MaxAttempts, failure.ErrorCode, delay.TotalMilliseconds);
            await Task.Delay(delay, ct);
        }
    }

    /// <summary>Reads Dapr's error body <c>{"errorCode","message"}</c>; a body that is not one yields (null, raw text).</summary>
    public static async Task<(string? ErrorCode, string Message)> ReadErrorAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var bytes = await response.Content.ReadAsByteArrayAsync(ct);
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            if (doc.RootElement.ValueKind == JsonValueKind.Object)
            {
                var code = doc.RootElement.TryGetProperty("errorCode", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
                var message = doc.RootElement.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
                return (string.IsNullOrEmpty(code) ? null : code, message ?? "");
            }
        }
        catch (JsonException)
        {
        }
        var text = Encoding.UTF8.GetString(bytes, 0, Math.Min(bytes.Length, 512));
        return (null, text);
    }

    /// <summary>The message of an error answer: what was asked, the status, Dapr's code and message.</summary>
    public static string Describe(string what, HttpStatusCode status, string? errorCode, string message) =>
        $"{what} failed: HTTP {(int)status}{(errorCode is null ? "" : " " + errorCode)}{(message.Length == 0 ? "" : ": " + message)}";

    public static string Escape(string segment) => Uri.EscapeDataString(segment);
}
