-- Superset 6.1.0 metadata tables that steward reads and writes, exactly as Superset's own
-- migrations create them on SQLite (`superset db upgrade`). steward creates them only in a
-- new, empty SQLite file (the embedded default); it never creates Superset's tables elsewhere.

CREATE TABLE ab_permission (
	id INTEGER NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (name)
);

CREATE TABLE ab_view_menu (
	id INTEGER NOT NULL, 
	name VARCHAR(255) NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (name)
);

CREATE TABLE ab_permission_view (
	id INTEGER NOT NULL, 
	permission_id INTEGER, 
	view_menu_id INTEGER, 
	PRIMARY KEY (id), 
	UNIQUE (permission_id, view_menu_id), 
	FOREIGN KEY(permission_id) REFERENCES ab_permission (id), 
	FOREIGN KEY(view_menu_id) REFERENCES ab_view_menu (id)
);

CREATE INDEX idx_view_menu_id ON ab_permission_view (view_menu_id);

CREATE INDEX idx_permission_id ON ab_permission_view (permission_id);

CREATE TABLE ab_role (
	id INTEGER NOT NULL, 
	name VARCHAR(64) NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (name)
);

CREATE TABLE ab_permission_view_role (
	id INTEGER NOT NULL, 
	permission_view_id INTEGER, 
	role_id INTEGER, 
	PRIMARY KEY (id), 
	CONSTRAINT ab_permission_view_role_role_id_fkey FOREIGN KEY(role_id) REFERENCES ab_role (id) ON DELETE CASCADE, 
	CONSTRAINT ab_permission_view_role_permission_view_id_fkey FOREIGN KEY(permission_view_id) REFERENCES ab_permission_view (id) ON DELETE CASCADE, 
	UNIQUE (permission_view_id, role_id), 
	FOREIGN KEY(permission_view_id) REFERENCES ab_permission_view (id) ON DELETE CASCADE
);

CREATE INDEX idx_role_id ON ab_permission_view_role (role_id);

CREATE INDEX idx_permission_view_id ON ab_permission_view_role (permission_view_id);

CREATE TABLE ab_user (
	id INTEGER NOT NULL, 
	first_name VARCHAR(64) NOT NULL, 
	last_name VARCHAR(64) NOT NULL, 
	username VARCHAR(128) NOT NULL, 
	password VARCHAR(256), 
	active BOOLEAN, 
	email VARCHAR(320) NOT NULL, 
	last_login DATETIME, 
	login_count INTEGER, 
	fail_login_count INTEGER, 
	created_on DATETIME, 
	changed_on DATETIME, 
	created_by_fk INTEGER, 
	changed_by_fk INTEGER, 
	PRIMARY KEY (id), 
	FOREIGN KEY(changed_by_fk) REFERENCES ab_user (id), 
	FOREIGN KEY(created_by_fk) REFERENCES ab_user (id), 
	UNIQUE (username), 
	UNIQUE (email)
);

CREATE TABLE ab_user_role (
	id INTEGER NOT NULL, 
	user_id INTEGER, 
	role_id INTEGER, 
	PRIMARY KEY (id), 
	CONSTRAINT ab_user_role_user_id_fkey FOREIGN KEY(user_id) REFERENCES ab_user (id) ON DELETE CASCADE, 
	CONSTRAINT ab_user_role_role_id_fkey FOREIGN KEY(role_id) REFERENCES ab_role (id) ON DELETE CASCADE, 
	FOREIGN KEY(role_id) REFERENCES ab_role (id) ON DELETE CASCADE, 
	UNIQUE (user_id, role_id)
);

CREATE TABLE ab_group (
	id INTEGER NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	label VARCHAR(150), 
	description VARCHAR(512), 
	PRIMARY KEY (id), 
	UNIQUE (name)
);

CREATE TABLE ab_user_group (
	id INTEGER NOT NULL, 
	user_id INTEGER, 
	group_id INTEGER, 
	PRIMARY KEY (id), 
	UNIQUE (user_id, group_id), 
	FOREIGN KEY(user_id) REFERENCES ab_user (id) ON DELETE CASCADE, 
	FOREIGN KEY(group_id) REFERENCES ab_group (id) ON DELETE CASCADE
);

CREATE INDEX idx_user_group_id ON ab_user_group (group_id);

CREATE INDEX idx_user_id ON ab_user_group (user_id);

CREATE TABLE ab_group_role (
	id INTEGER NOT NULL, 
	group_id INTEGER, 
	role_id INTEGER, 
	PRIMARY KEY (id), 
	UNIQUE (group_id, role_id), 
	FOREIGN KEY(group_id) REFERENCES ab_group (id) ON DELETE CASCADE, 
	FOREIGN KEY(role_id) REFERENCES ab_role (id) ON DELETE CASCADE
);

CREATE INDEX idx_group_role_id ON ab_group_role (role_id);

CREATE INDEX idx_group_id ON ab_group_role (group_id);

CREATE TABLE dbs (
	created_on DATETIME NOT NULL, 
	changed_on DATETIME NOT NULL, 
	id INTEGER NOT NULL, 
	database_name VARCHAR(250) NOT NULL, 
	sqlalchemy_uri VARCHAR(1024) NOT NULL, 
	created_by_fk INTEGER, 
	changed_by_fk INTEGER, 
	password BLOB, 
	cache_timeout INTEGER, 
	extra TEXT, 
	select_as_create_table_as BOOLEAN, 
	allow_ctas BOOLEAN, 
	expose_in_sqllab BOOLEAN, 
	force_ctas_schema VARCHAR(250), 
	allow_run_async BOOLEAN, 
	allow_dml BOOLEAN, 
	verbose_name VARCHAR(250), 
	impersonate_user BOOLEAN, 
	allow_file_upload BOOLEAN DEFAULT 1 NOT NULL, 
	encrypted_extra BLOB, 
	server_cert BLOB, 
	allow_cvas BOOLEAN, 
	uuid NUMERIC(16), 
	configuration_method VARCHAR(255) DEFAULT 'sqlalchemy_form', 
	is_managed_externally BOOLEAN DEFAULT 0 NOT NULL, 
	external_url TEXT, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_dbs_uuid UNIQUE (uuid), 
	FOREIGN KEY(created_by_fk) REFERENCES ab_user (id), 
	UNIQUE (database_name), 
	FOREIGN KEY(changed_by_fk) REFERENCES ab_user (id)
);

CREATE TABLE tables (
	created_on DATETIME NOT NULL, 
	changed_on DATETIME NOT NULL, 
	id INTEGER NOT NULL, 
	table_name VARCHAR(250) NOT NULL, 
	main_dttm_col VARCHAR(250), 
	default_endpoint TEXT, 
	database_id INTEGER NOT NULL, 
	created_by_fk INTEGER, 
	changed_by_fk INTEGER, 
	"offset" INTEGER, 
	description TEXT, 
	is_featured BOOLEAN, 
	cache_timeout INTEGER, 
	schema VARCHAR(255), 
	sql TEXT, 
	params TEXT, 
	perm VARCHAR(1000), 
	filter_select_enabled BOOLEAN, 
	fetch_values_predicate TEXT, 
	is_sqllab_view BOOLEAN DEFAULT 0, 
	template_params TEXT, 
	schema_perm VARCHAR(1000), 
	extra TEXT, 
	uuid NUMERIC(16), 
	is_managed_externally BOOLEAN DEFAULT (0) NOT NULL, 
	external_url TEXT, normalize_columns BOOLEAN DEFAULT (0), always_filter_main_dttm BOOLEAN DEFAULT (0), catalog VARCHAR(256), catalog_perm VARCHAR(1000), folders JSON, currency_code_column VARCHAR(250), 
	PRIMARY KEY (id), 
	CONSTRAINT uq_tables_uuid UNIQUE (uuid), 
	FOREIGN KEY(database_id) REFERENCES dbs (id), 
	UNIQUE (table_name), 
	FOREIGN KEY(changed_by_fk) REFERENCES ab_user (id), 
	FOREIGN KEY(created_by_fk) REFERENCES ab_user (id)
);

CREATE TABLE slices (
	created_on DATETIME NOT NULL, 
	changed_on DATETIME NOT NULL, 
	id INTEGER NOT NULL, 
	slice_name VARCHAR(250), 
	datasource_type VARCHAR(200), 
	datasource_name VARCHAR(2000), 
	viz_type VARCHAR(250), 
	params TEXT, 
	created_by_fk INTEGER, 
	changed_by_fk INTEGER, 
	description TEXT, 
	cache_timeout INTEGER, 
	perm VARCHAR(2000), 
	datasource_id INTEGER, 
	schema_perm VARCHAR(1000), 
	uuid NUMERIC(16), 
	query_context TEXT, 
	last_saved_at DATETIME, 
	last_saved_by_fk INTEGER, 
	certified_by TEXT, 
	certification_details TEXT, 
	is_managed_externally BOOLEAN DEFAULT 0 NOT NULL, 
	external_url TEXT, catalog_perm VARCHAR(1000), 
	PRIMARY KEY (id), 
	CONSTRAINT uq_slices_uuid UNIQUE (uuid), 
	CONSTRAINT slices_last_saved_by_fk FOREIGN KEY(last_saved_by_fk) REFERENCES ab_user (id), 
	CONSTRAINT ck_chart_datasource CHECK (datasource_type in ('table')), 
	FOREIGN KEY(changed_by_fk) REFERENCES ab_user (id), 
	FOREIGN KEY(created_by_fk) REFERENCES ab_user (id)
);

CREATE TABLE themes (
	uuid NUMERIC(16), 
	created_on DATETIME, 
	changed_on DATETIME, 
	id INTEGER NOT NULL, 
	theme_name VARCHAR(250), 
	json_data TEXT, 
	is_system BOOLEAN NOT NULL, 
	created_by_fk INTEGER, 
	changed_by_fk INTEGER, 
	is_system_default BOOLEAN NOT NULL, 
	is_system_dark BOOLEAN NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT fk_themes_created_by_fk_ab_user FOREIGN KEY(created_by_fk) REFERENCES ab_user (id), 
	CONSTRAINT fk_themes_changed_by_fk_ab_user FOREIGN KEY(changed_by_fk) REFERENCES ab_user (id), 
	UNIQUE (uuid)
);

CREATE INDEX idx_theme_is_system_default ON themes (is_system_default);

CREATE INDEX idx_theme_is_system_dark ON themes (is_system_dark);

CREATE TABLE dashboards (
	created_on DATETIME NOT NULL, 
	changed_on DATETIME NOT NULL, 
	id INTEGER NOT NULL, 
	dashboard_title VARCHAR(500), 
	position_json TEXT, 
	created_by_fk INTEGER, 
	changed_by_fk INTEGER, 
	css TEXT, 
	description TEXT, 
	slug VARCHAR(255), 
	json_metadata TEXT, 
	published BOOLEAN, 
	uuid NUMERIC(16), 
	certified_by TEXT, 
	certification_details TEXT, 
	is_managed_externally BOOLEAN DEFAULT 0 NOT NULL, 
	external_url TEXT, 
	theme_id INTEGER, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_dashboards_uuid UNIQUE (uuid), 
	CONSTRAINT fk_dashboards_theme_id_themes FOREIGN KEY(theme_id) REFERENCES themes (id), 
	FOREIGN KEY(changed_by_fk) REFERENCES ab_user (id), 
	FOREIGN KEY(created_by_fk) REFERENCES ab_user (id)
);

CREATE TABLE dashboard_roles (
	id INTEGER NOT NULL, 
	role_id INTEGER NOT NULL, 
	dashboard_id INTEGER, 
	PRIMARY KEY (id), 
	CONSTRAINT fk_dashboard_roles_dashboard_id_dashboards FOREIGN KEY(dashboard_id) REFERENCES dashboards (id) ON DELETE CASCADE, 
	CONSTRAINT fk_dashboard_roles_role_id_ab_role FOREIGN KEY(role_id) REFERENCES ab_role (id) ON DELETE CASCADE
);

CREATE TABLE row_level_security_filters (
	created_on DATETIME, 
	changed_on DATETIME, 
	id INTEGER NOT NULL, 
	clause TEXT NOT NULL, 
	created_by_fk INTEGER, 
	changed_by_fk INTEGER, 
	filter_type VARCHAR(255), 
	group_key VARCHAR(255), 
	name VARCHAR(255) NOT NULL, 
	description TEXT, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_rls_name UNIQUE (name), 
	FOREIGN KEY(changed_by_fk) REFERENCES ab_user (id), 
	FOREIGN KEY(created_by_fk) REFERENCES ab_user (id)
);

CREATE INDEX ix_row_level_security_filters_filter_type ON row_level_security_filters (filter_type);

CREATE TABLE rls_filter_roles (
	id INTEGER NOT NULL, 
	role_id INTEGER NOT NULL, 
	rls_filter_id INTEGER, 
	PRIMARY KEY (id), 
	FOREIGN KEY(rls_filter_id) REFERENCES row_level_security_filters (id), 
	FOREIGN KEY(role_id) REFERENCES ab_role (id)
);

CREATE TABLE rls_filter_tables (
	id INTEGER NOT NULL, 
	table_id INTEGER, 
	rls_filter_id INTEGER, 
	PRIMARY KEY (id), 
	FOREIGN KEY(rls_filter_id) REFERENCES row_level_security_filters (id), 
	FOREIGN KEY(table_id) REFERENCES tables (id)
);

CREATE TABLE report_schedule (
	id INTEGER NOT NULL, 
	type VARCHAR(50) NOT NULL, 
	name VARCHAR(150) NOT NULL, 
	description TEXT, 
	context_markdown TEXT, 
	active BOOLEAN, 
	crontab VARCHAR(1000) NOT NULL, 
	sql TEXT, 
	chart_id INTEGER, 
	dashboard_id INTEGER, 
	database_id INTEGER, 
	last_eval_dttm DATETIME, 
	last_state VARCHAR(50), 
	last_value FLOAT, 
	last_value_row_json TEXT, 
	validator_type VARCHAR(100), 
	validator_config_json TEXT, 
	log_retention INTEGER, 
	grace_period INTEGER, 
	working_timeout INTEGER, 
	created_on DATETIME, 
	changed_on DATETIME, 
	created_by_fk INTEGER, 
	changed_by_fk INTEGER, 
	report_format VARCHAR(50) DEFAULT 'PNG', 
	creation_method VARCHAR(255) DEFAULT 'alerts_reports', 
	timezone VARCHAR(100) DEFAULT 'UTC' NOT NULL, 
	extra_json TEXT NOT NULL, force_screenshot BOOLEAN, custom_width INTEGER, custom_height INTEGER, email_subject VARCHAR(255), 
	PRIMARY KEY (id), 
	CONSTRAINT uq_report_schedule_name_type UNIQUE (name, type), 
	FOREIGN KEY(database_id) REFERENCES dbs (id), 
	FOREIGN KEY(changed_by_fk) REFERENCES ab_user (id), 
	FOREIGN KEY(dashboard_id) REFERENCES dashboards (id), 
	FOREIGN KEY(chart_id) REFERENCES slices (id), 
	FOREIGN KEY(created_by_fk) REFERENCES ab_user (id)
);

CREATE INDEX ix_creation_method ON report_schedule (creation_method);

CREATE TABLE report_recipient (
	id INTEGER NOT NULL, 
	type VARCHAR(50) NOT NULL, 
	recipient_config_json TEXT, 
	report_schedule_id INTEGER NOT NULL, 
	created_on DATETIME, 
	changed_on DATETIME, 
	created_by_fk INTEGER, 
	changed_by_fk INTEGER, 
	PRIMARY KEY (id), 
	FOREIGN KEY(report_schedule_id) REFERENCES report_schedule (id), 
	FOREIGN KEY(changed_by_fk) REFERENCES ab_user (id), 
	FOREIGN KEY(created_by_fk) REFERENCES ab_user (id)
);

CREATE INDEX ix_report_recipient_report_schedule_id ON report_recipient (report_schedule_id);

CREATE TABLE report_schedule_user (
	id INTEGER NOT NULL, 
	user_id INTEGER NOT NULL, 
	report_schedule_id INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT fk_report_schedule_user_user_id_ab_user FOREIGN KEY(user_id) REFERENCES ab_user (id) ON DELETE CASCADE, 
	CONSTRAINT fk_report_schedule_user_report_schedule_id_report_schedule FOREIGN KEY(report_schedule_id) REFERENCES report_schedule (id) ON DELETE CASCADE
);

CREATE TABLE report_execution_log (
	id INTEGER NOT NULL, 
	scheduled_dttm DATETIME NOT NULL, 
	start_dttm DATETIME, 
	end_dttm DATETIME, 
	value FLOAT, 
	value_row_json TEXT, 
	state VARCHAR(50) NOT NULL, 
	error_message TEXT, 
	report_schedule_id INTEGER NOT NULL, uuid BINARY(16), 
	PRIMARY KEY (id), 
	FOREIGN KEY(report_schedule_id) REFERENCES report_schedule (id)
);

CREATE INDEX ix_report_execution_log_report_schedule_id ON report_execution_log (report_schedule_id);

CREATE INDEX ix_report_execution_log_start_dttm ON report_execution_log (start_dttm);

CREATE TABLE key_value (
	id INTEGER NOT NULL, 
	resource VARCHAR(32) NOT NULL, 
	value BLOB NOT NULL, 
	uuid NUMERIC(16), 
	created_on DATETIME, 
	created_by_fk INTEGER, 
	changed_on DATETIME, 
	changed_by_fk INTEGER, 
	expires_on DATETIME, 
	PRIMARY KEY (id), 
	FOREIGN KEY(created_by_fk) REFERENCES ab_user (id), 
	FOREIGN KEY(changed_by_fk) REFERENCES ab_user (id)
);

CREATE UNIQUE INDEX ix_key_value_uuid ON key_value (uuid);

CREATE INDEX ix_key_value_expires_on ON key_value (expires_on);
