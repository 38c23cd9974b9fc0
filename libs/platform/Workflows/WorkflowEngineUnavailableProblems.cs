using Grpc.Core;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Platform.Workflows;

/// <summary>
/// On Dapr's engine, a request that needs the sidecar's workflow API while it does not answer (gRPC Unavailable or
/// DeadlineExceeded: the sidecar is starting, restarting or gone) is a 503 problem with <c>Retry-After</c>, not a 500: the
/// request did nothing and can be sent again. Other gRPC errors stay unexpected errors.
/// </summary>
public sealed class WorkflowEngineUnavailableProblems(IProblemDetailsService problems) : IExceptionHandler
{
    public const int RetryAfterSeconds = 5;

    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken ct)
    {
        if (exception is not RpcException { StatusCode: StatusCode.Unavailable or StatusCode.DeadlineExceeded } rpc || context.Response.HasStarted)
            return false;
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "The workflow engine is unavailable",
                Detail = $"The sidecar's workflow API did not answer ({rpc.StatusCode}); no run was started. Retry in {RetryAfterSeconds} s.",
            },
        });
    }
}
