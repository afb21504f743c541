# Runbooker PowerShell host (Windows PowerShell 5.1 and PowerShell 7).
# Runs one runbook with its parameters splatted from JSON and writes every
# record it produces to stdout as a frame line: 0x1E "RB:" {"t","text","value"}.
# Frames are pure ASCII (everything else is \u-escaped), so the console
# encoding cannot garble them.
param([string]$ScriptPath, [string]$ParamsPath)

$ErrorActionPreference = 'Continue'
try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false } catch { }
if ($PSVersionTable.PSVersion.Major -ge 7) { try { $PSStyle.OutputRendering = 'PlainText' } catch { } }

function ConvertTo-RbAscii([string]$s) {
    [regex]::Replace($s, '[\u007f-\uffff]', { param($m) '\u{0:x4}' -f [int][char]$m.Value })
}

function ConvertTo-RbJsonString($s) {
    if ($null -eq $s) { return 'null' }
    $e = ([string]$s).Replace('\', '\\').Replace('"', '\"')
    $e = [regex]::Replace($e, '[\u0000-\u001f]', { param($m) '\u{0:x4}' -f [int][char]$m.Value })
    '"' + (ConvertTo-RbAscii $e) + '"'
}

function Write-RbFrame([string]$Type, $Text, [string]$ValueJson) {
    $line = [string][char]0x1e + 'RB:{"t":"' + $Type + '","text":' + (ConvertTo-RbJsonString $Text)
    if ($ValueJson) { $line += ',"value":' + (ConvertTo-RbAscii $ValueJson) }
    [Console]::Out.WriteLine($line + '}')
}

function ConvertTo-RbValue($o) {
    if ($o -is [datetime]) { return '"' + $o.ToString('o') + '"' }
    try { ConvertTo-Json -InputObject $o -Depth 5 -Compress -WarningAction SilentlyContinue -ErrorAction Stop }
    catch { $null }
}

function Send-RbError($e) {
    $pos = ''
    if ($e.InvocationInfo) { $pos = $e.InvocationInfo.PositionMessage }
    $v = '{"message":' + (ConvertTo-RbJsonString $e.Exception.Message) +
        ',"exceptionType":' + (ConvertTo-RbJsonString $e.Exception.GetType().FullName) +
        ',"errorId":' + (ConvertTo-RbJsonString $e.FullyQualifiedErrorId) +
        ',"category":' + (ConvertTo-RbJsonString $e.CategoryInfo.ToString()) +
        ',"scriptStackTrace":' + (ConvertTo-RbJsonString $e.ScriptStackTrace) +
        ',"position":' + (ConvertTo-RbJsonString $pos) + '}'
    Write-RbFrame 'Error' $e.ToString() $v
}

function Send-RbRecord($o) {
    if ($null -eq $o) { return }
    if ($o -is [System.Management.Automation.ErrorRecord]) { Send-RbError $o }
    elseif ($o -is [System.Management.Automation.WarningRecord]) { Write-RbFrame 'Warning' $o.Message }
    elseif ($o -is [System.Management.Automation.VerboseRecord]) { Write-RbFrame 'Verbose' $o.Message }
    elseif ($o -is [System.Management.Automation.DebugRecord]) { Write-RbFrame 'Debug' $o.Message }
    elseif ($o -is [System.Management.Automation.InformationRecord]) { Write-RbFrame 'Information' ([string]$o.MessageData) }
    elseif ($o -is [string]) { Write-RbFrame 'Output' $o }
    elseif ($o -is [ValueType]) { Write-RbFrame 'Output' ([string]$o) (ConvertTo-RbValue $o) }
    else { Write-RbFrame 'Output' (($o | Out-String -Width 250).Trim()) (ConvertTo-RbValue $o) }
}

# Progress records cannot be redirected, so Write-Progress is replaced.
function global:Write-Progress {
    [CmdletBinding()]
    param([Parameter(Position = 0)][string]$Activity, [Parameter(Position = 1)][string]$Status,
        [Parameter(Position = 2)][int]$Id = 0, [int]$PercentComplete = -1, [int]$SecondsRemaining = -1,
        [string]$CurrentOperation, [int]$ParentId = -1, [switch]$Completed, [int]$SourceId = 0)
    if ($ProgressPreference -eq 'SilentlyContinue' -or $ProgressPreference -eq 'Ignore') { return }
    $text = $Activity
    if ($Status) { $text += ': ' + $Status }
    if ($PercentComplete -ge 0) { $text += ' (' + $PercentComplete + '%)' }
    if ($Completed) { $text += ' (completed)' }
    $done = 'false'
    if ($Completed) { $done = 'true' }
    $v = '{"activity":' + (ConvertTo-RbJsonString $Activity) + ',"status":' + (ConvertTo-RbJsonString $Status) +
        ',"id":' + $Id + ',"parentId":' + $ParentId + ',"percentComplete":' + $PercentComplete +
        ',"secondsRemaining":' + $SecondsRemaining + ',"currentOperation":' + (ConvertTo-RbJsonString $CurrentOperation) +
        ',"completed":' + $done + '}'
    Write-RbFrame 'Progress' $text $v
}

function ConvertFrom-RbBase64([string]$s) {
    [System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String($s))
}

# Nested objects become hashtables, which bind to [hashtable], [object] and
# [PSCustomObject] parameters alike.
function ConvertTo-RbHashtable($o) {
    if ($o -is [System.Management.Automation.PSCustomObject]) {
        $h = @{}
        foreach ($p in $o.PSObject.Properties) { $h[$p.Name] = ConvertTo-RbHashtable $p.Value }
        return $h
    }
    if ($o -is [array]) { return , @($o | ForEach-Object { ConvertTo-RbHashtable $_ }) }
    $o
}

# Azure Automation's asset cmdlets, served by the worker's per-job asset
# channel (RB_ASSET_URL, RB_ASSET_TOKEN), so existing runbooks run unchanged.
function Invoke-RbAsset([string]$Method, [string]$Path, $Body) {
    if (-not $env:RB_ASSET_URL -or -not $env:RB_ASSET_TOKEN) { throw 'Automation assets are only available inside a Runbooker job.' }
    $rbReq = @{ Method = $Method; Uri = $env:RB_ASSET_URL + $Path; Headers = @{ Authorization = 'Bearer ' + $env:RB_ASSET_TOKEN }
        ContentType = 'application/json'; UseBasicParsing = $true }
    if ($PSBoundParameters.ContainsKey('Body')) { $rbReq.Body = (ConvertTo-Json -InputObject $Body -Depth 10 -Compress) }
    try { Invoke-RestMethod @rbReq }
    catch {
        $msg = $_.ErrorDetails.Message
        try { $msg = ($msg | ConvertFrom-Json).error } catch { }
        if (-not $msg) { $msg = $_.Exception.Message }
        throw $msg
    }
}
function Get-RbAssetPath([string]$Type, [string]$Name) { '/assets/' + $Type + '/' + [uri]::EscapeDataString($Name) }
function global:Get-AutomationVariable {
    param([Parameter(Mandatory = $true, Position = 0)][string]$Name)
    Invoke-RbAsset 'GET' (Get-RbAssetPath 'variable' $Name)
}
function global:Set-AutomationVariable {
    param([Parameter(Mandatory = $true, Position = 0)][string]$Name, [Parameter(Mandatory = $true, Position = 1)]$Value)
    $null = Invoke-RbAsset 'PUT' (Get-RbAssetPath 'variable' $Name) $Value
}
function global:Get-AutomationPSCredential {
    param([Parameter(Mandatory = $true, Position = 0)][string]$Name)
    $c = Invoke-RbAsset 'GET' (Get-RbAssetPath 'credential' $Name)
    $pw = New-Object System.Security.SecureString
    foreach ($ch in ([string]$c.password).ToCharArray()) { $pw.AppendChar($ch) }
    New-Object System.Management.Automation.PSCredential ([string]$c.userName), $pw
}
function global:Get-AutomationConnection {
    param([Parameter(Mandatory = $true, Position = 0)][string]$Name)
    $c = Invoke-RbAsset 'GET' (Get-RbAssetPath 'connection' $Name)
    $h = @{}
    foreach ($p in $c.fields.PSObject.Properties) { $h[$p.Name] = $p.Value }
    $h
}
function global:Get-AutomationCertificate {
    param([Parameter(Mandatory = $true, Position = 0)][string]$Name)
    $c = Invoke-RbAsset 'GET' (Get-RbAssetPath 'certificate' $Name)
    if ($c.pfx) {
        $flags = [System.Security.Cryptography.X509Certificates.X509KeyStorageFlags]::Exportable
        return New-Object System.Security.Cryptography.X509Certificates.X509Certificate2 (,[Convert]::FromBase64String($c.pfx)), ([string]$c.password), $flags
    }
    $pem = ([string]$c.pem) -replace '-----[^-]+-----', '' -replace '\s', ''
    New-Object System.Security.Cryptography.X509Certificates.X509Certificate2 (,[Convert]::FromBase64String($pem))
}

# Host variables are prefixed with rb: the runbook runs in a child scope and
# sees them.
try {
    # Strings arrive base64-encoded: PowerShell 7's ConvertFrom-Json would
    # turn date-like strings into DateTime objects.
    $rbIn = [System.IO.File]::ReadAllText($ParamsPath) | ConvertFrom-Json
    $rbSplat = @{}
    foreach ($rbP in @($rbIn.values.PSObject.Properties)) { $rbSplat[$rbP.Name] = ConvertTo-RbHashtable $rbP.Value }
    foreach ($rbP in @($rbIn.strings.PSObject.Properties)) {
        if ($rbP.Value -is [array]) { $rbSplat[$rbP.Name] = [string[]]@($rbP.Value | ForEach-Object { ConvertFrom-RbBase64 $_ }) }
        else { $rbSplat[$rbP.Name] = ConvertFrom-RbBase64 $rbP.Value }
    }
    $global:LASTEXITCODE = 0
    & $ScriptPath @rbSplat *>&1 | ForEach-Object { Send-RbRecord $_ }
    $rbCode = $global:LASTEXITCODE
} catch {
    Send-RbError $_
    Write-RbFrame 'Exception' $_.Exception.Message
    [Console]::Out.Flush()
    exit 1
}
[Console]::Out.Flush()
if ($rbCode -is [int] -and $rbCode -ne 0) { exit $rbCode }
exit 0
