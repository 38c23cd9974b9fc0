using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Platform.ServiceDefaults;

/// <summary>
/// Turns what the framework refused to bind (a body that is not JSON, a wrong type, a form without a boundary, a
/// truncated body, an unsupported Content-Type) into problem details with the framework's reason, at the status it
/// chose (400, 413, 415). Anything else is left to the default handler: an unexpected error stays a 500.
/// </summary>
public sealed class BadRequestProblems(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken ct)
    {
        if (exception is not BadHttpRequestException bad || context.Response.HasStarted) return false;
        var detail = bad.InnerException switch
        {
            JsonException json => $"{bad.Message} {json.Message}",
            InvalidDataException data => $"{bad.Message} {data.Message}",
            _ => bad.Message,
        };
        context.Response.StatusCode = bad.StatusCode;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails = new ProblemDetails { Status = bad.StatusCode, Title = "The request could not be read", Detail = detail },
        });
    }
}
