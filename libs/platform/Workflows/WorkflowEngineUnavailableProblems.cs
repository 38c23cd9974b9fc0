using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Platform.Workflows;

/// <summary>The sidecar's workflow API did not answer: it is starting, restarting or gone. Nothing was started.</summary>
public sealed class WorkflowEngineUnavailableException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// On Dapr's engine, a request that needs the sidecar's workflow API while it does not answer
/// (<see cref="WorkflowEngineUnavailableException"/>, thrown by <see cref="DaprEngineWorkflowClient"/>) is a 503 problem
/// with <c>Retry-After</c>, not a 500: no run was started and the request can be sent again.
/// </summary>
public sealed class WorkflowEngineUnavailableProblems(IProblemDetailsService problems) : IExceptionHandler
{
    public const int RetryAfterSeconds = 5;

    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken ct)
    {
        if (exception is not WorkflowEngineUnavailableException unavailable || context.Response.HasStarted) return false;
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
                Detail = $"{unavailable.Message} No run was started. Retry in {RetryAfterSeconds} s.",
            },
        });
    }
}
