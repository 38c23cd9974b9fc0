using Dapr;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using DaprSdkClient = Dapr.Client.DaprClient;

namespace Platform.BuildingBlocks.Dapr;

/// <summary>
/// A call to the sidecar failed: the sidecar answered a gRPC error (<see cref="Status"/>), did not answer within
/// <see cref="DaprOptions.RequestTimeout"/>, or refused the arguments before sending.
/// </summary>
public sealed class DaprApiException(string message, StatusCode? status, string errorCode, Exception? inner = null)
    : Exception(message, inner)
{
    /// <summary>The gRPC status the sidecar answered; null when no answer arrived.</summary>
    public StatusCode? Status { get; } = status;

    /// <summary>The status name (<c>Aborted</c>, <c>Internal</c>, ...) or one of <see cref="DaprErrorCodes"/>.</summary>
    public string ErrorCode { get; } = errorCode;
}

/// <summary>Codes for failures the sidecar did not describe itself.</summary>
public static class DaprErrorCodes
{
    public const string Timeout = "DAPR_TIMEOUT";
    public const string MalformedResponse = "DAPR_MALFORMED_RESPONSE";
    public const string InvalidArgument = "DAPR_INVALID_ARGUMENT";
}

/// <summary>
/// The adapter's one way to call <see cref="DaprSdkClient"/>: a per-attempt timeout, and the retry rule the adapter and
/// <c>components/resiliency.yaml</c> share. Reads (get, bulk get, secrets, metadata) are repeated on
/// <see cref="StatusCode.Unavailable"/> or a timeout. Writes (save, delete, transaction, publish) are sent once: a write
/// that timed out may have been applied, and replaying a last-write-wins save could overwrite a newer value. Publishes
/// are retried by the sidecar's outbound pub/sub policy instead (consumers dedupe on the CloudEvent id); state writes are
/// retried by nobody. Failures are told apart by gRPC status code, never by message text.
/// </summary>
public sealed class DaprCalls(DaprSdkClient client, DaprOptions options, ILogger<DaprCalls> logger) : IDisposable
{
    private readonly Lazy<(GrpcChannel Channel, global::Dapr.Client.Autogen.Grpc.v1.Dapr.DaprClient Stub)> _raw = new(() =>
    {
        var channel = GrpcChannel.ForAddress(options.GrpcEndpoint, new GrpcChannelOptions { ThrowOperationCanceledOnCancellation = true });
        return (channel, new global::Dapr.Client.Autogen.Grpc.v1.Dapr.DaprClient(channel));
    });

    public DaprSdkClient Client => client;
    public DaprOptions Options => options;

    /// <summary>
    /// The generated gRPC stub of <c>dapr.proto.runtime.v1.Dapr</c>, for the one answer the SDK does not pass on: bulk get's
    /// per-key <c>error</c> (the SDK's <c>BulkStateItem</c> has no error field, so a failed key would look absent).
    /// </summary>
    public global::Dapr.Client.Autogen.Grpc.v1.Dapr.DaprClient Stub => _raw.Value.Stub;

    /// <summary>Call headers for <see cref="Stub"/>: <c>dapr-api-token</c> when one is configured.</summary>
    public Metadata StubHeaders { get; } = options.ApiToken is { } token ? new Metadata { { "dapr-api-token", token } } : [];

    public void Dispose()
    {
        if (_raw.IsValueCreated) _raw.Value.Channel.Dispose();
    }

    /// <summary>Whether a call may be sent again after a transport failure.</summary>
    public enum Kind { Read, Write }

    /// <summary>The gRPC status of a failed SDK call (the SDK wraps <see cref="RpcException"/> in <see cref="DaprException"/>).</summary>
    public static StatusCode? StatusOf(Exception ex) => ex switch
    {
        RpcException rpc => rpc.StatusCode,
        DaprException { InnerException: RpcException rpc } => rpc.StatusCode,
        DaprApiException api => api.Status,
        _ => null,
    };

    public async Task<T> RunAsync<T>(Kind kind, string what, Func<DaprSdkClient, CancellationToken, Task<T>> call, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            attemptCts.CancelAfter(options.RequestTimeout);
            DaprApiException failure;
            try
            {
                return await call(client, attemptCts.Token);
            }
            catch (OperationCanceledException ex) when (!ct.IsCancellationRequested)
            {
                failure = new DaprApiException(
                    $"{what}: the Dapr sidecar at {options.GrpcEndpoint} did not answer within {options.RequestTimeout.TotalMilliseconds:F0} ms.",
                    null, DaprErrorCodes.Timeout, ex);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && !ct.IsCancellationRequested)
            {
                failure = new DaprApiException(
                    $"{what}: the Dapr sidecar at {options.GrpcEndpoint} did not answer within {options.RequestTimeout.TotalMilliseconds:F0} ms.",
                    null, DaprErrorCodes.Timeout, ex);
            }
            catch (Exception ex) when (StatusOf(ex) is { } status)
            {
                var detail = (ex.InnerException as RpcException)?.Status.Detail ?? (ex as RpcException)?.Status.Detail ?? ex.Message;
                failure = new DaprApiException($"{what} failed: gRPC {status}: {detail}", status, status.ToString(), ex);
            }
            catch (ArgumentException ex)
            {
                throw new DaprApiException($"{what}: {ex.Message}", null, DaprErrorCodes.InvalidArgument, ex);
            }
            var transient = failure.Status is null or StatusCode.Unavailable or StatusCode.DeadlineExceeded;
            if (kind == Kind.Write || !transient || attempt >= options.MaxAttempts) throw failure;
            var delay = options.RetryDelay * Math.Pow(2, attempt - 1);
            logger.LogWarning("{What} failed (attempt {Attempt} of {MaxAttempts}, {Code}); retrying in {Delay} ms",
                what, attempt, options.MaxAttempts, failure.ErrorCode, delay.TotalMilliseconds);
            await Task.Delay(delay, ct);
        }
    }

    public Task RunAsync(Kind kind, string what, Func<DaprSdkClient, CancellationToken, Task> call, CancellationToken ct) =>
        RunAsync<bool>(kind, what, async (c, t) =>
        {
            await call(c, t);
            return true;
        }, ct);
}
