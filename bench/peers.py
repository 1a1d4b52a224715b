"""Published figures of the services users compare this one with, shown beside ours.

Step Functions Standard throttles StartExecution with a token bucket per account and Region: refilled at
300 a second, 1,300 deep, in US East (N. Virginia), US West (Oregon) and Europe (Ireland); 150 and 800 in
other Regions (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html).
"""

STEP_FUNCTIONS_STARTS = (
    "Step Functions Standard: 300 starts/s an account (1,300 at once); 150/s in most Regions"
)
