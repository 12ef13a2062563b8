package metrics

// The metric names, each written here only. docs/metrics.md describes
// each one.
const (
	buildInfoName = "ssmrandom_build_info"

	recvDatagramsName       = "ssmrandom_recv_datagrams_total"
	recvDroppedName         = "ssmrandom_recv_dropped_total"
	recvFramesName          = "ssmrandom_recv_frames_total"
	recvForwardedFramesName = "ssmrandom_recv_forwarded_frames_total"
	recvForwardedBytesName  = "ssmrandom_recv_forwarded_bytes_total"
	// LastFrameName is the receiver's gauge of when the producer key
	// (label kid) last had a verified frame checked, in Unix seconds,
	// which [LastFrames] reads.
	LastFrameName        = "ssmrandom_recv_last_frame_timestamp_seconds"
	recvLastAgeName      = "ssmrandom_recv_last_frame_age_seconds"
	recvTrustedKeysName  = "ssmrandom_recv_trusted_keys"
	recvKeyInfoName      = "ssmrandom_recv_key_info"
	recvForeignName      = "ssmrandom_recv_foreign_source_datagrams_total"
	recvHealthName       = "ssmrandom_recv_health_failures_total"
	recvBlockName        = "ssmrandom_recv_fips_block_failures_total"
	recvSinkErrorsName   = "ssmrandom_recv_sink_errors_total"
	recvUnsignedName     = "ssmrandom_recv_unsigned_frames_total"
	recvMemberName       = "ssmrandom_recv_member_total"
	recvVerifyName       = "ssmrandom_recv_verify_duration_seconds"
	recvTrustSkippedName = "ssmrandom_recv_trust_skipped_files"
	recvTrustReloadsName = "ssmrandom_recv_trust_reloads_total"
	recvAlarmName        = "ssmrandom_recv_alarm"
	recvTransportName    = "ssmrandom_recv_transport_info"

	recvAMTRediscoveriesName = "ssmrandom_recv_amt_rediscoveries_total"
	recvKernelDropsName      = "ssmrandom_recv_kernel_drops_total"
	recvRcvbufName           = "ssmrandom_recv_rcvbuf_bytes"

	sendFramesName     = "ssmrandom_send_frames_total"
	sendBytesName      = "ssmrandom_send_bytes_total"
	sendErrorsName     = "ssmrandom_send_errors_total"
	sendReadErrorsName = "ssmrandom_send_read_errors_total"

	sendHealthFailuresName = "ssmrandom_send_health_failures_total"
	sendBlockFailuresName  = "ssmrandom_send_fips_block_failures_total"
	sendHealthDroppedName  = "ssmrandom_send_health_dropped_bytes_total"
	sendInputHealthyName   = "ssmrandom_send_input_healthy"

	sendSeedRoundsName    = "ssmrandom_send_seed_rounds_total"
	sendSeedMembersName   = "ssmrandom_send_seed_members_total"
	sendSeedDatagramsName = "ssmrandom_send_seed_datagrams_total"
)
